"""The `vidtype` command: argument parsing only; every command calls the Python API."""

from __future__ import annotations

import argparse
import json
import sys

from .errors import VidtypeError
from .yt8m import cli as yt8m_cli


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
        data = args.data
        if args.features:  # YouTube-8M features instead of video files (vidtype/yt8m)
            data = yt8m_cli.train_source(args)
        elif not data:
            raise VidtypeError("give DATA (a folder of class folders or a manifest) or --features yt8m:GLOB")
        model = train(data, args.out, args.config, overrides, progress=not args.quiet)
    except VidtypeError as e:
        print(f"vidtype: {e}", file=sys.stderr)
        return 2
    cal = model.extra["training"].get("calibration") or {}
    print(f"model written to {args.out}: {len(model.members)} member(s) "
          f"({', '.join(m.backbone for m in model.members)}), temperature {model.temperature:.3f}"
          + (f", validation accuracy {cal['val_accuracy']:.3f}, macro-F1 {cal['val_macro_f1']:.3f}" if cal else ""))
    return 0


def cmd_crossval(args: argparse.Namespace) -> int:
    from .train.crossval import crossval

    try:
        result = crossval(args.data, args.config, list(args.set or []), folds=args.folds,
                          probe=args.probe or args.probe_only, heads=not args.probe_only, out=args.out,
                          include_test=args.include_test, group_by=args.group_by or [], progress=not args.quiet)
    except VidtypeError as e:
        print(f"vidtype: {e}", file=sys.stderr)
        return 2
    for name, block in result["models"].items():
        s = block["summary"]
        f1 = ", ".join(f"{c} {v['mean']:.3f}" for c, v in s["f1"].items())
        print(f"{name}: macro-F1 {s['macro_f1']['mean']:.3f} ± {s['macro_f1']['std']:.3f}, accuracy "
              f"{s['accuracy']['mean']:.3f} ± {s['accuracy']['std']:.3f} over {result['folds']} folds "
              f"({result['n_videos']} videos); F1 {f1}")
    if args.out:
        print(f"results: {args.out}/crossval.json, {args.out}/crossval.md")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate

    try:
        metrics = evaluate(args.data, args.model, out=args.out, split=args.split, tta=not args.no_tta,
                           group_by=args.group_by or [], cache_dir=args.cache, device=args.device,
                           throughput_videos=args.throughput, progress=not args.quiet, ood=args.ood)
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
    ood = metrics.get("ood") or {}
    if ood.get("views"):
        b = ood["views"][ood["headline"]]
        t = b["scores"]["trust"]
        print(f"ood ({ood['headline']}): {b['ood_n']} OOD videos, trust AUROC {t['auroc']:.3f}, FPR at 95% TPR "
              f"{t['fpr95']:.1%}; {b['id_abstained']:.1%} of evaluated videos abstained, {b['ood_detected']:.1%} of "
              f"OOD detected; macro-F1 {b['id_macro_f1']:.3f} -> {b['id_macro_f1_with_unknown']:.3f} with unknown")
    if args.out:
        print(f"report: {args.out}/report.md")
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    if bool(args.out) == bool(args.features):
        print("vidtype: batch needs --out RESULTS.parquet (classify) or --features CACHE_DIR (extract)",
              file=sys.stderr)
        return 2
    ray = args.ray if args.ray != "" else True  # bare --ray: a local instance, or $RAY_ADDRESS
    try:
        from .batch import classify_batch, extract_batch
        from .batch.inputs import DownloadLimits

        if args.features:
            from .train import load_config, training_views

            cfg = load_config(args.config, args.set or [])
            f = cfg.features
            workers = f.workers if args.workers is None else args.workers
            summary = extract_batch(args.input, args.features, args.backbone or cfg.backbones[0],
                                    training_views(f.views, f.jitter), ray=ray, workers=workers, device=args.device,
                                    runtime=f.runtime, progress=not args.quiet, actors=args.actors, frames=f.frames,
                                    sharpen=f.sharpen, augment=cfg.augment, batch_size=f.batch_size,
                                    timeout_s=f.timeout_s, dtype=f.dtype)
            print(f"features of {summary.total} videos cached in {summary.out} "
                  f"({summary.failed} could not be decoded) in {summary.seconds:.1f} s")
        else:
            summary = classify_batch(args.input, args.out, args.model, ray=ray, workers=args.workers,
                                     frames=args.frames, tta=args.tta, sharpen=args.sharpen, device=args.device,
                                     limits=DownloadLimits(max_bytes=args.max_download_mb << 20),
                                     retry_failed=args.retry_failed, chunk_rows=args.chunk_rows,
                                     progress=not args.quiet, actors=args.actors)
            print(f"{summary.out}: {summary.total} videos, {summary.skipped} already done, {summary.processed} "
                  f"classified ({summary.failed} failed) in {summary.seconds:.1f} s, "
                  f"{summary.videos_per_s:.2f} videos/s")
    except VidtypeError as e:
        print(f"vidtype: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vidtype: interrupted; finished rows are kept, run the same command again to resume", file=sys.stderr)
        return 130
    return 1 if summary.failed else 0


def cmd_trust_fit(args: argparse.Namespace) -> int:
    from .train.trustfit import refit_trust

    try:
        model = refit_trust(args.data, args.model, ood_generated=args.ood_generated, ood_seed=args.seed,
                            keep=args.keep, folds=args.folds, cache_dir=args.cache, device=args.device,
                            progress=not args.quiet)
    except VidtypeError as e:
        print(f"vidtype: {e}", file=sys.stderr)
        return 2
    facts = model.extra["training"]["trust"]
    if not facts.get("fitted"):
        print("vidtype: trust not fitted (too few training or validation videos)", file=sys.stderr)
        return 1
    weights = ", ".join(f"{k} {v:.2f}" for k, v in facts["weights"].items() if v)
    print(f"trust refitted in {args.model}: weights {weights}; threshold {model.threshold:.3f} "
          f"(keeps {facts['keep']:.0%} of {facts['reference']} videos)")
    return 0


def cmd_corpus(args: argparse.Namespace) -> int:
    if args.corpus == "ood":
        from .corpus.ood import make_ood_set

        try:
            w, h = (int(x) for x in args.size.lower().split("x"))
            manifest = make_ood_set(args.out, args.n, args.seed, size=(w, h), seconds=args.seconds)
        except ValueError as e:
            print(f"vidtype: {e}", file=sys.stderr)
            return 2
        print(f"{args.n} generated out-of-distribution clips, listed in {manifest}")
        return 0
    if args.corpus == "merge":
        from .corpus.merge import merge

        try:
            out = merge(args.out, args.parts, args.val, args.test, args.seed, args.only)
        except VidtypeError as e:
            print(f"vidtype: {e}", file=sys.stderr)
            return 2
        print(f"merged manifest: {out}")
        return 0
    if args.corpus == "packages":
        from .corpus.recorded import packages

        print(" ".join(packages()))
        return 0
    if args.corpus == "build":
        from pathlib import Path

        from .corpus.recorded import CorpusError, build

        try:
            sources = [s.strip() for s in args.sources.split(",") if s.strip()]
            manifest = build(args.out, args.per_class, sources, args.seed, progress=not args.quiet)
        except CorpusError as e:
            print(f"vidtype: {e}", file=sys.stderr)
            return 2
        report = json.loads((Path(args.out) / "build.json").read_text())
        for name, r in report.items():
            status = f"error: {r['error']}" if r["error"] else f"{r['seconds_per_clip'] or 0:.1f} s per clip"
            print(f"{name:10s} {r['label']:10s} {r['clips']:4d}/{r['planned']} clips  {status}")
        print(f"manifest: {manifest}")
        return 0 if not any(r["error"] for r in report.values()) else 1
    from .corpus.footage import write_manifests

    for name, path in write_manifests(args.footage, args.out).items():
        print(f"{name}: {path}")
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
    p.add_argument("data", metavar="DATA", nargs="?", help="a folder of class folders, or a .csv/.parquet manifest")
    p.add_argument("--out", required=True, metavar="MODEL_DIR", help="model directory to write (or resume)")
    p.add_argument("--config", metavar="FILE", help="run config (.yaml, .toml or .json)")
    p.add_argument("--backbone", action="append", metavar="NAME", help="backbone (repeat for an ensemble)")
    p.add_argument("--members", type=int, metavar="K", help="members per backbone, each with its own seed")
    p.add_argument("--epochs", type=int, metavar="N", help="maximum epochs per member")
    p.add_argument("--device", help="auto (default), cpu, cuda or cuda:N")
    p.add_argument("--cache", metavar="DIR", help="feature cache (default: ~/.cache/vidtype/features)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="any config setting, e.g. optim.lr=3e-4")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    yt8m_cli.add_train_arguments(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("crossval", help="grouped K-fold cross-validation of a run config (and a linear probe)")
    p.add_argument("data", metavar="DATA", help="a folder of class folders, or a .csv/.parquet manifest")
    p.add_argument("--config", metavar="FILE", help="run config (.yaml, .toml or .json)")
    p.add_argument("--folds", type=int, default=5, metavar="K", help="folds (default 5)")
    p.add_argument("--probe", action="store_true",
                   help="also fit the baseline: mean+std pooled frame features, logistic regression, same folds")
    p.add_argument("--probe-only", action="store_true", help="only the probe (no heads are trained)")
    p.add_argument("--include-test", action="store_true",
                   help="fold every video, the run's test split too (default: leave the test split out)")
    p.add_argument("--group-by", action="append", metavar="COLUMN",
                   help="also report out-of-fold metrics per value of a manifest column (e.g. source_format)")
    p.add_argument("--out", metavar="DIR", help="write crossval.json and crossval.md here")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="any config setting, e.g. optim.lr=3e-4")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_crossval)

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
    p.add_argument("--ood", metavar="OOD", help="also measure trust against out-of-distribution videos: a folder, "
                   "or a .csv/.parquet manifest with a path column (e.g. runs/footage/ood.csv)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("trust-fit", help="refit a trained model's trust and threshold on its own split, no retraining")
    p.add_argument("data", metavar="DATA", help="the dataset the model was trained on (folder or manifest)")
    p.add_argument("--model", required=True, metavar="MODEL_DIR", help="model directory (rewritten in place)")
    p.add_argument("--ood-generated", type=int, default=0, metavar="N",
                   help="generated out-of-distribution clips choosing the score weights (default 0: equal weights)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated clips (default 0)")
    p.add_argument("--keep", type=float, metavar="SHARE",
                   help="share of validation videos kept labelled (default: the run's trust_keep, 0.95)")
    p.add_argument("--folds", type=int, metavar="K",
                   help="set the threshold on K-fold out-of-fold scores of train + val (retrains K times; "
                        "default: the run's trust_folds; 0: validation videos only)")
    p.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when available")
    p.add_argument("--cache", metavar="DIR", help="feature cache (default: the run's)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_trust_fit)

    p = sub.add_parser("corpus", help="write corpora: the recorded corpus, generated OOD clips, footage manifests")
    corpus = p.add_subparsers(dest="corpus", required=True)
    c = corpus.add_parser("ood", help="generate out-of-distribution clips (noise, test cards, medical, thermal, ...)")
    c.add_argument("out", metavar="OUT", help="folder to write the clips and manifest.csv into")
    c.add_argument("--n", type=int, default=60, help="number of clips (default 60)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--size", default="320x240", metavar="WxH", help="frame size, even numbers (default 320x240)")
    c.add_argument("--seconds", type=float, default=3.0, help="clip length (default 3)")
    c = corpus.add_parser("build", help="record the corpus of real programs and packaged material (Xvfb, apt)")
    c.add_argument("out", metavar="OUT", help="folder for the clips, manifest.csv and build.json (resumable)")
    c.add_argument("--per-class", type=int, default=60, metavar="N", help="clips per class (default 60)")
    c.add_argument("--sources", default="games,desktop,animation,photos",
                   help="comma-separated sources (default: all four)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    corpus.add_parser("packages", help="the Debian packages `corpus build` needs, on one line (for apt-get install)")
    c = corpus.add_parser("merge", help="one training manifest from several, each split on its own")
    c.add_argument("out", metavar="OUT.csv")
    c.add_argument("parts", nargs="+", metavar="MANIFEST", help="manifests to merge (path,label[,group,split,...])")
    c.add_argument("--val", type=float, default=0.15, help="validation share of each part (default 0.15)")
    c.add_argument("--test", type=float, default=0.2, help="test share of each part (default 0.2)")
    c.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    c.add_argument("--only", choices=["train", "val", "test"], help="keep only this split's rows (an evaluation set)")
    c = corpus.add_parser("footage", help="manifests of the real-footage set: manifest.csv (classes) and ood.csv")
    c.add_argument("footage", metavar="FOOTAGE", help="the footage folder (with manifest.csv)")
    c.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=cmd_corpus)

    yt8m_cli.register(sub)

    p = sub.add_parser("batch", help="classify (or extract training features of) many videos; resumable")
    p.add_argument("input", metavar="INPUT", help="a folder, a glob, a video, or a .csv/.parquet manifest "
                   "(column path or url; URLs are downloaded, classified and deleted)")
    p.add_argument("--out", metavar="RESULTS.parquet", help="one row per video; a rerun skips what is done")
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="local worker processes (default: one per core; on a CPU each runs the whole pipeline)")
    p.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="run on Ray: a local instance or $RAY_ADDRESS, or ADDRESS (auto, ray://head:10001)")
    p.add_argument("--actors", type=int, metavar="N", help="Ray: most model actors (default: GPUs, or CPUs/2)")
    p.add_argument("--frames", type=int, help="frames to sample per video (default: the model's)")
    p.add_argument("--tta", action="store_true", help="test-time augmentation: flips, crops, temporal jitter")
    p.add_argument("--sharpen", action="store_true", help="unsharp-mask frames before encoding")
    p.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when available")
    p.add_argument("--retry-failed", action="store_true", help="classify again inputs whose row is an error")
    p.add_argument("--max-download-mb", type=int, default=500, metavar="MB", help="size cap per URL (default 500)")
    p.add_argument("--chunk-rows", type=int, default=256, metavar="N",
                   help="rows per Parquet chunk: at most this much work is redone after a crash (default 256)")
    p.add_argument("--features", metavar="CACHE_DIR",
                   help="instead of classifying, fill this training feature cache (see vidtype train --cache)")
    p.add_argument("--backbone", metavar="NAME", help="--features: the backbone (default: the config's first)")
    p.add_argument("--config", metavar="FILE", help="--features: the training run config (views, frames, ...)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="--features: any config setting")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_batch)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
