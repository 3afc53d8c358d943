"""How many classifications per second does the server sustain on a short clip, and at what latency?

    python benchmarks/load.py [--model DIR] [--clip FILE] [--requests 30] [--concurrency 2] [--frames N]

Starts the real server (waitress, in this process, on 127.0.0.1 only), uploads the clip `--requests` times from
`--concurrency` client threads (bounded by `--requests` and `--seconds`) and prints requests per second and the
p50/p95 latency of the successful requests. The clip defaults to examples/sample.mp4 (6 s, 854x480). Without
`--model`, a model with a randomly initialised head is built: the backbone, decoding and HTTP costs are the real
ones, the labels are meaningless.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from vidtype.decode import probe
from vidtype.model import TemporalConfig, TemporalHead
from vidtype.server import create_app
from vidtype.server.wsgi import waitress_server
from vidtype.store import Member, Model, save_model

ROOT = Path(__file__).resolve().parent.parent


def random_model(path: Path) -> Path:
    cfg = TemporalConfig(feature_dim=1280, hidden=32, heads=2)
    return save_model(Model(name="random-head", version="0", members=[Member("efficientnet_lite0", cfg,
                                                                              TemporalHead(cfg))]), path)


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="model directory (default: a random-head test model)")
    ap.add_argument("--clip", default=str(ROOT / "examples" / "sample.mp4"))
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--concurrency", type=int, default=2, help="client threads, and the server's MAX_CONCURRENT")
    ap.add_argument("--frames", type=int, help="frames per video (default: the model's)")
    ap.add_argument("--seconds", type=float, default=120.0, help="stop sending after this long")
    args = ap.parse_args()
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth" is the point here

    with tempfile.TemporaryDirectory(prefix="vidtype-load-") as tmp:
        model = args.model or str(random_model(Path(tmp) / "model"))
        app = create_app({"MODEL": model, "TMP_DIR": tmp, "MAX_CONCURRENT": args.concurrency})
        clf = app.extensions["vidtype"].loader.get(timeout=300)
        if clf is None:
            print(f"load.py: {app.extensions['vidtype'].loader.error}", file=sys.stderr)
            return 2
        server = waitress_server(app, "127.0.0.1", 0, threads=args.concurrency + 2)
        threading.Thread(target=server.run, daemon=True).start()
        url = f"http://127.0.0.1:{server.effective_port}/v1/classify"
        data = Path(args.clip).read_bytes()
        form = {"frames": str(args.frames)} if args.frames else {}

        def one() -> tuple[int, float]:
            t = time.perf_counter()
            r = requests.post(url, files={"file": (Path(args.clip).name, data)}, data=form, timeout=300)
            return r.status_code, time.perf_counter() - t

        status, _ = one()  # warm-up: first-call costs (ONNX Runtime sessions, caches) are not measured
        if status != 200:
            print(f"load.py: the warm-up request failed with HTTP {status}", file=sys.stderr)
            return 1
        deadline = time.monotonic() + args.seconds

        def bounded(_):
            return one() if time.monotonic() < deadline else (None, 0.0)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            results = list(pool.map(bounded, range(args.requests)))
        wall = time.perf_counter() - t0
        server.close()

    ok = [s for code, s in results if code == 200]
    busy = sum(code == 503 for code, _ in results)
    failed = sum(code not in (200, 503, None) for code, _ in results)
    info = probe(args.clip)
    frames = args.frames or clf.model.frames
    print(f"server      waitress on 127.0.0.1, MAX_CONCURRENT={args.concurrency}, model {clf.model.name} "
          f"{clf.model.version} ({', '.join(clf.model.backbones)}), {frames} frames, torch device {clf.device}")
    print(f"clip        {args.clip} ({info.duration_s:.1f} s, {info.width}x{info.height}, {len(data) // 1024} KiB)")
    print(f"requests    {len(ok)} ok, {busy} busy (503), {failed} failed, from {args.concurrency} client threads "
          f"in {wall:.1f} s")
    if ok:
        print(f"throughput  {len(ok) / wall:.2f} requests/s")
        print(f"latency     p50 {statistics.median(ok):.2f} s   p95 {percentile(ok, 0.95):.2f} s   "
              f"max {max(ok):.2f} s")
    return 0 if ok and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
