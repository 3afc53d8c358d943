"""The local batch engine: one machine's cores (and GPU) kept busy on a collection of videos.

    for record in classify_local(paths, model, DecodeOptions(frames=16), workers=2):
        ...   # Prediction.to_dict() or an error record, in completion order

On a CPU, each worker process runs the whole pipeline on one video at a time: `decode_video` (download +
`sample_frames`, frames shrunk to the backbone's input size), then its own backbone (ONNX Runtime, cores / workers
threads) and head. Nothing is shared, so nothing waits: with a worker per core every core decodes or encodes all
the time, and adding cores adds throughput. (A single batched backbone in the main process was tried first: its
threads and the decoders fought over the cores, and on 16 cores the main process, not the cores, set the pace.)

On a GPU, or with a backbone registered in this process only (`backbones.register`: the workers would not know
it), the workers only decode; this process gathers their videos until they hold `batch_frames` frames and
runs the backbone on all of them at once and the head per video (`BatchPredictor`), while the workers decode
the next batch.

Workers start from a fork server (no torch/ONNX Runtime threads are forked), so a script that runs this engine
must guard its entry point with `if __name__ == "__main__":` (workers import the main module, as with any
spawn/forkserver pool); the CLI does.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

import torch

from .. import backbones
from ..backbones.onnx_runtime import cpu_cores
from ..pipeline import Classifier
from .predict import BatchPredictor, DecodeOptions, decode_video, for_backbones

BATCH_FRAMES = 64  # frames per GPU backbone call: a few videos' worth


def default_workers() -> int:
    """Worker processes by default: one per core."""
    return cpu_cores()


def engine_classifier(model, device=None, runtime: str = "auto", threads: int | None = None) -> Classifier:
    """A Classifier whose ONNX Runtime encoders use `threads` threads (default: one per core).

    `Classifier` builds its encoders with one thread per core; those are rebuilt here (about a second each).
    """
    clf = Classifier(model, device=device, runtime=runtime)
    if threads and threads != cpu_cores():
        for name, encoder in clf.encoders.items():
            if encoder.runtime == "onnx":
                clf.encoders[name] = backbones.create(name, device=encoder.device, runtime="onnx", threads=threads)
    return clf


_worker_predictor: BatchPredictor | None = None  # a CPU worker's own model (see `_init_worker`)


def _init_worker(model=None, runtime: str = "auto", threads: int = 1, tta: bool = False) -> None:
    import signal

    import cv2

    global _worker_predictor
    from .. import decode

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle: it stops the pool
    cv2.setNumThreads(1)  # the pool already has a process per core
    decode.DECODER_THREADS = 1
    torch.set_num_threads(threads)
    if model is not None:
        _worker_predictor = BatchPredictor(engine_classifier(model, "cpu", runtime, threads), tta=tta)


def _classify_one(predictor: BatchPredictor, item: str, opts: DecodeOptions) -> dict:
    d = decode_video(item, opts)
    return d.error if d.error is not None else predictor.predict([d])[0]


def _classify_in_worker(item: str, opts: DecodeOptions) -> dict:
    return _classify_one(_worker_predictor, item, opts)


def _pool(workers: int, initargs: tuple = ()) -> ProcessPoolExecutor:
    method = "forkserver" if sys.platform.startswith("linux") else "spawn"
    ctx = mp.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["vidtype.batch.predict"])
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=initargs)


def _in_pool(fn: Callable, items: Iterable[str], opts: DecodeOptions, workers: int, ahead: int,
             initargs: tuple = ()) -> Iterator:
    """`fn(item, opts)` over `items` in `workers` processes, results as they finish, up to `ahead` in flight."""
    items = iter(items)
    pool = _pool(workers, initargs)
    pending: set[Future] = set()
    try:
        while True:
            while len(pending) < ahead and (item := next(items, None)) is not None:
                pending.add(pool.submit(fn, item, opts))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def classify_local(items: Iterable[str], model, opts: DecodeOptions, *, workers: int | None = None,
                   device: str | None = None, runtime: str = "auto", threads: int | None = None,
                   batch_frames: int = BATCH_FRAMES) -> Iterator[dict]:
    """Classify `items` (paths or URLs) with `model` (a loaded `store.Model`); yield one record per item as
    they finish (completion order). workers: processes (default one per core; 0: all in this process);
    threads: backbone threads per CPU worker (default: cores / workers)."""
    workers = default_workers() if workers is None else workers
    opts = for_backbones(opts, model.backbones)
    dev = torch.device(device) if device else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if dev.type == "cpu" and workers > 0 and set(model.backbones) <= backbones.BUILT_IN:
        threads = threads or max(1, cpu_cores() // workers)
        yield from _in_pool(_classify_in_worker, items, opts, workers, 2 * workers, (model, runtime, threads,
                                                                                      opts.tta))
        return
    predictor = BatchPredictor(engine_classifier(model, dev, runtime, threads), tta=opts.tta)
    if workers <= 0:
        yield from (_classify_one(predictor, item, opts) for item in items)
        return
    per_video = opts.frames * (2 if opts.tta else 1)
    ahead = 2 * workers + -(-batch_frames // per_video)  # the next batch is decoding while this one runs
    ready = []
    for d in _in_pool(decode_video, items, opts, workers, ahead):
        if d.error is not None:
            yield d.error
            continue
        ready.append(d)
        if sum(r.n_frames for r in ready) >= batch_frames:
            yield from predictor.predict(ready)
            ready = []
    if ready:
        yield from predictor.predict(ready)
