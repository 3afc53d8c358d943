"""The local batch engine: decoding in a process pool, overlapped with batched inference in this process.

    for record in classify_local(paths, clf, DecodeOptions(frames=16), workers=2):
        ...   # Prediction.to_dict() or an error record, in completion order

Worker processes run `decode_video` (download + `sample_frames`, then frames shrunk to the backbone's input size
on their shorter side) and send back the FrameSamples (a 16-frame video is about 3 MB). Meanwhile this process gathers finished
videos until they hold `batch_frames` frames, runs the backbone on all of them at once and the head per video
(`BatchPredictor`). A few videos are always queued ahead, so the workers decode the next batch while the
backbone runs on this one. Workers start from a fork server (no torch/ONNX Runtime threads are forked), so a
script that runs this engine must guard its entry point with `if __name__ == "__main__":` (workers import the
main module, as with any spawn/forkserver pool); the CLI does.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from ..backbones.onnx_runtime import cpu_cores
from ..pipeline import Classifier
from .predict import BatchPredictor, Decoded, DecodeOptions, decode_video, for_backbones

BATCH_FRAMES = 64  # frames per backbone call: a few videos' worth


def default_workers() -> int:
    """Decoding processes by default: one per core (the backbone's threads share the cores with them)."""
    return cpu_cores()


def default_threads() -> int:
    """Backbone threads by default: every core. The decoders are processes that run while the backbone waits for
    them; ONNX Runtime's threads do not spin (see backbones/onnx_runtime.py), so they leave the cores free then."""
    return cpu_cores()


def engine_classifier(model, device=None, runtime: str = "auto", threads: int | None = None) -> Classifier:
    """A Classifier whose ONNX Runtime encoders use `threads` threads (default `default_threads()`).

    `Classifier` builds its encoders with one thread per core; those are rebuilt here (about a second each).
    """
    from .. import backbones

    clf = Classifier(model, device=device, runtime=runtime)
    threads = threads or default_threads()
    for name, encoder in clf.encoders.items():
        if encoder.runtime == "onnx" and threads != cpu_cores():
            clf.encoders[name] = backbones.create(name, device=encoder.device, runtime="onnx", threads=threads)
    return clf


def _init_worker() -> None:
    import signal

    import cv2
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle: it stops the pool
    cv2.setNumThreads(1)  # one process per core already
    torch.set_num_threads(1)


def _pool(workers: int) -> ProcessPoolExecutor:
    method = "forkserver" if sys.platform.startswith("linux") else "spawn"
    ctx = mp.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["vidtype.batch.predict"])
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker)


def decoded_stream(items: Iterable[str], opts: DecodeOptions, workers: int, ahead: int) -> Iterator[Decoded]:
    """`decode_video` over `items` in `workers` processes (0: in this thread), results as they finish, keeping up
    to `ahead` videos in flight."""
    if workers <= 0:
        yield from (decode_video(it, opts) for it in items)
        return
    items = iter(items)
    pool = _pool(workers)
    pending: set[Future] = set()
    try:
        while True:
            while len(pending) < ahead and (item := next(items, None)) is not None:
                pending.add(pool.submit(decode_video, item, opts))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def classify_local(items: Iterable[str], clf: Classifier, opts: DecodeOptions, *, workers: int | None = None,
                   batch_frames: int = BATCH_FRAMES, predictor: BatchPredictor | None = None) -> Iterator[dict]:
    """Classify `items` (paths or URLs); yield one record per item as batches finish (completion order)."""
    workers = default_workers() if workers is None else workers
    opts = for_backbones(opts, clf.encoders)
    predictor = predictor or BatchPredictor(clf, tta=opts.tta)
    per_video = opts.frames * (2 if opts.tta else 1)
    ahead = 2 * max(workers, 1) + -(-batch_frames // per_video)  # the next batch is decoding while this one runs
    ready: list[Decoded] = []
    for d in decoded_stream(items, opts, workers, ahead):
        if d.error is not None:
            yield d.error
            continue
        ready.append(d)
        if sum(r.n_frames for r in ready) >= batch_frames:
            yield from predictor.predict(ready)
            ready = []
    if ready:
        yield from predictor.predict(ready)
