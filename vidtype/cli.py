"""The `vidtype` command: argument parsing only; every command calls the Python API."""

from __future__ import annotations

import argparse
import json
import sys

from .errors import VidtypeError


def _print_table(rows: list[dict]) -> None:
    header = f"{'label':<10} {'conf':>5} {'trust':>5}  {'anim':>5} {'game':>5} {'natu':>5} {'flat':>5}  path"
    print(header)
    print("-" * len(header))
    for r in rows:
        if "error" in r:
            print(f"{'ERROR':<10} {'':>5} {'':>5}  {'':>5} {'':>5} {'':>5} {'':>5}  {r['path']}: {r['error']}")
            continue
        p = r["probabilities"]
        probs = " ".join(f"{p.get(c, 0.0):>5.2f}" for c in ("animation", "gaming", "natural", "flat"))
        print(f"{r['label']:<10} {r['confidence']:>5.2f} {r['trust']:>5.2f}  {probs}  {r['path']}")


def cmd_predict(args: argparse.Namespace) -> int:
    from . import classifier
    from .pipeline import error_record

    try:
        clf = classifier(args.model, device=args.device)
    except VidtypeError as e:
        print(f"vidtype: {e}", file=sys.stderr)
        return 2
    failed = 0
    rows = []
    for path in args.files:
        try:
            row = clf.classify(path, frames=args.frames, tta=args.tta, sharpen=args.sharpen).to_dict()
        except VidtypeError as e:
            row = error_record(path, e)
        if "error" in row:
            failed += 1
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            rows.append(row)
    if not args.json:
        _print_table(rows)
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vidtype", description="Tell what kind of video a file is.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("predict", help="classify video files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.add_argument("--frames", type=int, help="frames to sample per video (default: the model's, 16)")
    p.add_argument("--tta", action="store_true", help="test-time augmentation: flips, crops, temporal jitter")
    p.add_argument("--sharpen", action="store_true", help="unsharp-mask frames before encoding")
    p.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when available")
    p.add_argument("--json", action="store_true", help="one JSON object per input per line")
    p.set_defaults(func=cmd_predict)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
