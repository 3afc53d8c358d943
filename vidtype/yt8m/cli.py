"""`vidtype yt8m curate | download | predict` and the YouTube-8M options of `vidtype train`."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import VidtypeError


def _fail(e: Exception) -> int:
    print(f"vidtype: {e}", file=sys.stderr)
    return 2


def _mapping_args(p: argparse.ArgumentParser, prefix: str = "") -> None:
    p.add_argument("--mapping", action="append", default=[], metavar="FILE",
                   help="mapping file whose rules override the shipped ones (repeatable; see vidtype/yt8m/mapping.csv)")
    p.add_argument(f"--{prefix}no-default-mapping", dest="no_default_mapping", action="store_true",
                   help="use only the --mapping files, not the shipped mapping")


def cmd_curate(args: argparse.Namespace) -> int:
    from .curate import curate, write_manifest
    from .mapping import LabelMap

    try:
        label_map = LabelMap.load(args.vocabulary, args.mapping, default=not args.no_default_mapping)
        result = curate(args.labels, label_map, per_class=args.per_class, seed=args.seed)
        write_manifest(result.rows, args.out)
    except VidtypeError as e:
        return _fail(e)
    kept = {c: sum(r.label == c for r in result.rows) for c in result.found}
    print(f"{result.files} label file(s), {sum(result.reasons.values())} videos: "
          + ", ".join(f"{k} {v}" for k, v in sorted(result.reasons.items())), file=sys.stderr)
    print("per class (found -> kept): " + ", ".join(f"{c} {result.found[c]} -> {kept[c]}" for c in result.found),
          file=sys.stderr)
    if label_map.unused and args.verbose:
        print("mapping rules that decide no entity of this vocabulary:", file=sys.stderr)
        for r in label_map.unused:
            print(f"  {r.where}: {r.kind},{r.value},{r.target}", file=sys.stderr)
    elif label_map.unused:
        print(f"{len(label_map.unused)} mapping rule(s) decide no entity of this vocabulary (--verbose lists them)",
              file=sys.stderr)
    print(f"manifest written to {args.out}: {len(result.rows)} videos", file=sys.stderr)
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from .download import DownloadOptions, download

    given = {"url_template": args.url_template, "format": args.format, "id_lookup": args.id_lookup}
    options = DownloadOptions(rate=args.rate, limit_rate=args.limit_rate, max_filesize=args.max_filesize,
                              socket_timeout=args.socket_timeout, retries=args.retries, retry_errors=args.retry_errors,
                              **{k: v for k, v in given.items() if v is not None})
    if (options.id_lookup or "").lower() == "none":
        options.id_lookup = None

    def report(n: int, total: int, o) -> None:
        if not args.quiet and o.status != "skipped":
            detail = o.path if o.status == "done" else o.error
            print(f"[{n}/{total}] {o.status:<11} {o.label}/{o.id}  {detail}", file=sys.stderr, flush=True)

    try:
        summary = download(args.manifest, args.out, options, on_result=report)
    except VidtypeError as e:
        return _fail(e)
    except KeyboardInterrupt:
        print("interrupted: run the same command again to continue", file=sys.stderr)
        return 130
    counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.counts.items()))
    print(f"{args.out}: {counts}; failures listed in {summary.errors_file}", file=sys.stderr)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from .mapping import LabelMap
    from .predict import predict_records

    try:
        label_map = LabelMap.load(args.vocabulary, args.mapping, default=not args.no_default_mapping) \
            if args.vocabulary else None
        right = scored = failed = 0
        if not args.json:
            print(f"{'id':<12} {'label':<10} {'conf':>5} {'trust':>5}  {'anim':>5} {'game':>5} {'natu':>5} {'flat':>5}")
        for row in predict_records(args.model, args.records, label_map=label_map):
            if "error" in row:
                failed += 1
            elif row["expected"] is not None:
                scored += 1
                right += row["label"] == row["expected"]
            if args.json:
                print(json.dumps(row), flush=True)
            elif "error" in row:
                print(f"{row['id']:<12} ERROR {row['error']}")
            else:
                p = " ".join(f"{v:5.2f}" for v in row["probabilities"].values())
                print(f"{row['id']:<12} {row['label']:<10} {row['confidence']:5.2f} {row['trust']:5.2f}  {p}"
                      + (f"  expected {row['expected']}" if row["expected"] else ""))
    except VidtypeError as e:
        return _fail(e)
    if scored:
        print(f"accuracy {right / scored:.3f} on {scored} records with a mapped label (unknown counts as wrong)",
              file=sys.stderr)
    return 1 if failed else 0


def register(sub) -> None:
    """Add `vidtype yt8m ...` to the main parser's subcommands."""
    parser = sub.add_parser("yt8m", help="YouTube-8M: curate training videos, download them, use its features")
    yt = parser.add_subparsers(dest="yt8m_command", required=True)

    p = yt.add_parser("curate", help="map YouTube-8M labels to the four classes and write a balanced manifest")
    p.add_argument("--vocabulary", required=True, metavar="CSV", help="YouTube-8M's vocabulary.csv")
    p.add_argument("--labels", required=True, nargs="+", metavar="FILE",
                   help="TFRecord files (video- or frame-level) or CSV files id,labels; globs allowed (quote them)")
    p.add_argument("--out", required=True, metavar="CSV", help="manifest to write: id,label,entities")
    p.add_argument("--per-class", type=int, metavar="N",
                   help="at most N videos per class (default: the smallest class's count; 0: keep all)")
    p.add_argument("--seed", type=int, default=0, help="which videos balancing keeps (default 0)")
    p.add_argument("--verbose", action="store_true", help="list mapping rules that match no entity")
    _mapping_args(p)
    p.set_defaults(func=cmd_curate)

    p = yt.add_parser("download", help="download a curated manifest's videos with yt-dlp into OUT/<class>/<id>.mp4")
    p.add_argument("manifest", metavar="MANIFEST", help="CSV with columns id,label[,youtube_id]")
    p.add_argument("--out", required=True, metavar="DIR", help="dataset folder (one folder per class)")
    p.add_argument("--rate", type=float, default=1.0, metavar="SECONDS", help="pause between downloads (default 1)")
    p.add_argument("--limit-rate", metavar="RATE", help="yt-dlp's bandwidth limit in bytes/s, e.g. 2M")
    p.add_argument("--max-filesize", default="100M", metavar="SIZE", help="skip larger videos (default 100M)")
    p.add_argument("--socket-timeout", type=float, default=30.0, metavar="SECONDS")
    p.add_argument("--retries", type=int, default=3)
    p.add_argument("--format", default=None, metavar="FORMAT", help="yt-dlp format (default: mp4 video, <=480p)")
    p.add_argument("--url-template", default=None, metavar="TEMPLATE",
                   help="video URL; {id} is the YouTube id (default https://www.youtube.com/watch?v={id})")
    p.add_argument("--id-lookup", default=None, metavar="TEMPLATE",
                   help="URL resolving 4-character YouTube-8M ids ({prefix}, {id}); 'none' to use ids as they are")
    p.add_argument("--retry-errors", action="store_true", help="also retry videos recorded as unavailable")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.set_defaults(func=cmd_download)

    p = yt.add_parser("predict", help="classify YouTube-8M frame-level records with a model trained on them")
    p.add_argument("records", nargs="+", metavar="RECORDS", help="frame-level TFRecord files or globs")
    p.add_argument("--model", required=True, metavar="MODEL_DIR", help="a model trained with --features yt8m:...")
    p.add_argument("--vocabulary", metavar="CSV", help="also report each record's mapped class and the accuracy")
    p.add_argument("--json", action="store_true", help="one JSON object per record per line")
    _mapping_args(p)
    p.set_defaults(func=cmd_predict)


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """`vidtype train --features yt8m:GLOB --vocabulary CSV [--mapping FILE] [--yt8m-rgb-only] ...`."""
    g = p.add_argument_group("YouTube-8M features (instead of DATA)")
    g.add_argument("--features", metavar="yt8m:GLOB",
                   help="train on YouTube-8M frame-level TFRecords instead of video files")
    g.add_argument("--vocabulary", metavar="CSV", help="YouTube-8M's vocabulary.csv (with --features)")
    g.add_argument("--mapping", action="append", default=[], metavar="FILE", help="extra mapping file (repeatable)")
    g.add_argument("--yt8m-no-default-mapping", dest="no_default_mapping", action="store_true",
                   help="use only the --mapping files")
    g.add_argument("--yt8m-rgb-only", action="store_true", help="1024-d visual features only (default: + audio, 1152)")
    g.add_argument("--yt8m-per-class", type=int, metavar="N", help="balance: at most N videos per class")


def train_source(args: argparse.Namespace):
    """The feature source of `vidtype train --features ...` (raises VidtypeError for bad arguments)."""
    from .errors import Yt8mError

    kind, _, pattern = args.features.partition(":")
    if kind != "yt8m" or not pattern:
        raise Yt8mError(f"--features takes yt8m:GLOB (frame-level TFRecords), not {args.features!r}")
    if args.data:
        raise Yt8mError("give either DATA or --features, not both")
    if args.backbone:
        raise Yt8mError("--backbone does not apply to --features yt8m (the features are YouTube-8M's)")
    if not args.vocabulary:
        raise Yt8mError("--features yt8m:... needs --vocabulary vocabulary.csv")
    from .training import Yt8mFeatures

    return Yt8mFeatures(pattern, args.vocabulary, args.mapping, default_mapping=not args.no_default_mapping,
                        rgb_only=args.yt8m_rgb_only, per_class=args.yt8m_per_class)
