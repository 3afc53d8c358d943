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
        for seg in r.get("segments", []):
            p = seg["probabilities"]
            probs = " ".join(f"{p.get(c, 0.0):>5.2f}" for c in ("animation", "gaming", "natural", "flat"))
            print(f"  {seg['label']:<8} {seg['confidence']:>5.2f} {seg['trust']:>5.2f}  {probs}  "
                  f"{seg['start_s']:.1f}-{seg['end_s']:.1f} s")


def cmd_predict(args: argparse.Namespace) -> int:
    from . import classifier
    from .pipeline import error_record

    if args.timeline is not None and args.timeline <= 0:
        print("vidtype: --timeline takes a positive number of seconds", file=sys.stderr)
        return 2
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
            if args.timeline:
                from .timeline import classify_timeline

                segments = classify_timeline(clf, path, args.timeline, args.frames, tta=args.tta)
                row["segments"] = [s.to_dict() for s in segments]
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


def cmd_serve(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .server.wsgi import serve
    from .store import DEFAULT_MODEL_DIR

    # Fail here rather than in every worker; the workers load the model themselves, after the fork.
    model_dir = Path(args.model) if args.model else DEFAULT_MODEL_DIR
    if not (model_dir / "model.json").is_file():
        print(f"vidtype: no vidtype model at {model_dir} (pass --model MODEL_DIR)", file=sys.stderr)
        return 2
    config = {"MODEL": args.model, "DEVICE": args.device}
    for key, value in (("TOKEN", args.token), ("FETCH_ALLOW", args.allow), ("MAX_CONCURRENT", args.max_concurrent)):
        if value:  # unset options leave the VIDTYPE_* environment and the defaults in force
            config[key] = value
    serve(config, host=args.host, port=args.port, workers=args.workers, threads=args.threads, server=args.server)
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    from . import classifier
    from .live import watch

    try:
        clf = classifier(args.model, device=args.device)
        for u in watch(args.source, clf, every=args.every, window=args.window, frames=args.frames, fps=args.fps,
                       realtime=args.realtime):
            if args.json:
                print(json.dumps(u.to_dict()), flush=True)
            else:
                print(f"{u.time_s:8.1f} s  {u.label:<10} {u.confidence:5.2f}  trust {u.trust:4.2f}  "
                      f"latency {u.latency_s:4.2f} s", flush=True)
    except (VidtypeError, ValueError) as e:
        print(f"vidtype: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .train import train

    overrides = list(args.set or [])
    if args.backbone:
        overrides.append(f"backbones={json.dumps(args.backbone)}")
    for key, value in (("members", args.members), ("optim.epochs", args.epochs), ("device", args.device),
                       ("features.cache_dir", args.cache)):
        if value is not None:
            overrides.append(f"{key}={json.dumps(value)}")
    try:
        model = train(args.data, args.out, args.config, overrides, progress=not args.quiet)
    except VidtypeError as e:
        print(f"vidtype: {e}", file=sys.stderr)
        return 2
    cal = model.extra["training"].get("calibration") or {}
    print(f"model written to {args.out}: {len(model.members)} member(s) "
          f"({', '.join(m.backbone for m in model.members)}), temperature {model.temperature:.3f}"
          + (f", validation accuracy {cal['val_accuracy']:.3f}, macro-F1 {cal['val_macro_f1']:.3f}" if cal else ""))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate

    try:
        metrics = evaluate(args.data, args.model, out=args.out, split=args.split, tta=not args.no_tta,
                           group_by=args.group_by or [], cache_dir=args.cache, device=args.device,
                           throughput_videos=args.throughput, progress=not args.quiet)
    except VidtypeError as e:
        print(f"vidtype: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(metrics))
        return 0
    who, key = metrics["headline"].split("/")
    head = metrics["results"][who][key]
    print(f"{metrics['headline']}: {head['n']} videos, accuracy {head['accuracy']:.3f}, "
          f"macro-F1 {head['macro_f1']:.3f}, ECE {head['ece']:.3f}"
          + (f"; {len(metrics['data']['failed'])} could not be decoded" if metrics["data"]["failed"] else ""))
    if args.out:
        print(f"report: {args.out}/report.md")
    return 0


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
    p.add_argument("--timeline", type=float, metavar="SECONDS",
                   help="also classify consecutive windows of SECONDS and report a label per segment")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("serve", help="run the inference server and web page (gunicorn or waitress)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.add_argument("--workers", type=int, default=1, help="worker processes, each loads the model once")
    p.add_argument("--threads", type=int, help="threads per worker (default: concurrency limits + 4)")
    p.add_argument("--token", help="require `Authorization: Bearer TOKEN` on /v1/* (or set VIDTYPE_TOKEN)")
    p.add_argument("--allow", action="append", metavar="NETWORK",
                   help="let URL fetching reach this private network, e.g. 10.0.0.0/8 (repeatable)")
    p.add_argument("--max-concurrent", type=int, help="classifications at once per worker (default 2)")
    p.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when available")
    p.add_argument("--server", choices=["gunicorn", "waitress"], help="default: gunicorn where it runs")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("watch", help="print a rolling label of a live stream, a file played at real speed, or -")
    p.add_argument("source", metavar="SOURCE", help="a file, a URL (http, HLS, RTSP, UDP...) or - for stdin")
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.add_argument("--every", type=float, default=2.0, help="seconds between labels (default 2)")
    p.add_argument("--window", type=float, default=8.0, help="seconds of stream each label looks at (default 8)")
    p.add_argument("--frames", type=int, default=8, help="frames classified per label (default 8)")
    p.add_argument("--fps", type=float, default=4.0, help="frames kept per second of stream (default 4)")
    p.add_argument("--realtime", action=argparse.BooleanOptionalAction, default=None,
                   help="pace the source at its own speed (default: for files only)")
    p.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when available")
    p.add_argument("--json", action="store_true", help="one JSON object per label per line")
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("train", help="train a model on a labelled dataset (class folders or a manifest)")
    p.add_argument("data", metavar="DATA", help="a folder of class folders, or a .csv/.parquet manifest")
    p.add_argument("--out", required=True, metavar="MODEL_DIR", help="model directory to write (or resume)")
    p.add_argument("--config", metavar="FILE", help="run config (.yaml, .toml or .json)")
    p.add_argument("--backbone", action="append", metavar="NAME", help="backbone (repeat for an ensemble)")
    p.add_argument("--members", type=int, metavar="K", help="members per backbone, each with its own seed")
    p.add_argument("--epochs", type=int, metavar="N", help="maximum epochs per member")
    p.add_argument("--device", help="auto (default), cpu, cuda or cuda:N")
    p.add_argument("--cache", metavar="DIR", help="feature cache (default: ~/.cache/vidtype/features)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="any config setting, e.g. optim.lr=3e-4")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="measure a model on a labelled dataset and write a report")
    p.add_argument("data", metavar="DATA", help="a folder of class folders, or a .csv/.parquet manifest")
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.add_argument("--out", metavar="REPORT_DIR", help="write metrics.json, report.md, CSVs and plots here")
    p.add_argument("--split", choices=["train", "val", "test"], help="only this split of the model's split.csv")
    p.add_argument("--group-by", action="append", metavar="COLUMN",
                   help="also report metrics per value of a manifest column (e.g. source_format), or ext")
    p.add_argument("--no-tta", action="store_true", help="skip the test-time augmentation measurements")
    p.add_argument("--throughput", type=int, default=8, metavar="N",
                   help="videos timed through vidtype.classify (default 8; 0: skip)")
    p.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when available")
    p.add_argument("--cache", metavar="DIR", help="feature cache (default: ~/.cache/vidtype/features)")
    p.add_argument("--json", action="store_true", help="print the metrics object on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
