"""Batch classification and feature extraction at scale: local by default, Ray for clusters.

    from vidtype.batch import classify_batch, extract_batch
    summary = classify_batch("videos/", "results.parquet", model="models/v1")        # local engine
    summary = classify_batch("list.csv", "results.parquet", model=..., ray="auto")  # on a Ray cluster
    extract_batch("videos/", "~/.cache/vidtype/features", "efficientnet_lite0", training_views(4))

Modules, one job each: inputs.py (INPUT -> paths and URLs; downloads), results.py (Parquet chunks, resume,
merge), predict.py (decode one video; batched backbone + head), local.py (process-pool engine),
ray_engine.py (Ray Data engine). Output: one row per video, the fields of `vidtype predict --json` flattened
(see `results.flatten`), errors as `error` / `error_code`. A rerun after a crash or Ctrl-C classifies only what
is missing; no input ever gets two rows. The local engine starts worker processes: in a script, call it under
`if __name__ == "__main__":`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .inputs import DownloadLimits, is_url, resolve_inputs
from .results import ResultStore, flatten

log = logging.getLogger(__name__)

CHUNK_ROWS = 256  # rows per Parquet chunk ...
CHUNK_SECONDS = 60.0  # ... or fewer, when this long has passed since the last chunk


@dataclass
class BatchSummary:
    """What a batch run did: inputs seen, skipped as already done, processed now, failed now, and its speed."""

    out: str
    total: int
    skipped: int
    processed: int
    failed: int
    seconds: float

    @property
    def videos_per_s(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0


def classify_batch(inputs, out: str | Path, model=None, *, ray: str | bool | None = None, workers: int | None = None,
                   frames: int | None = None, tta: bool = False, sharpen: bool = False, device: str | None = None,
                   runtime: str = "auto", timeout_s: float = 60.0, limits: DownloadLimits | None = None,
                   retry_failed: bool = False, chunk_rows: int = CHUNK_ROWS, progress: bool = True,
                   threads: int | None = None, actors: int | None = None) -> BatchSummary:
    """Classify every video of `inputs` (folder, glob, manifest, or a list) into the Parquet file `out`.

    model: a model directory, a loaded `Model`, or None (the shipped default). ray: None/False for the local
    engine; True or an address ("auto", "ray://head:10001") for Ray. workers: local decoding processes (default:
    one per core; 0: all in this process); threads: backbone threads per local worker (default: cores / workers).
    retry_failed: classify again the inputs whose row is an error. actors: Ray's most model actors.
    """
    from ..store import Model, load_model
    from .predict import DecodeOptions

    t0 = time.perf_counter()
    items = resolve_inputs(inputs)
    model = model if isinstance(model, Model) else load_model(model)
    opts = DecodeOptions(frames=frames or model.frames, tta=tta, sharpen=sharpen, timeout_s=timeout_s,
                         limits=limits or DownloadLimits())
    with ResultStore(out) as store:
        done = store.done(include_errors=not retry_failed)
        todo = [p for p in items if p not in done]
        failed = 0
        if todo:
            if ray is None or ray is False:
                records = _local_records(todo, model, opts, workers, device, runtime, threads)
            else:
                records = _ray_records(todo, model, opts, None if ray is True else ray, runtime, actors)
            failed = _write(records, store, len(todo), chunk_rows, progress)
        store.merge(order=items)
    summary = BatchSummary(str(store.out), len(items), len(items) - len(todo), len(todo), failed,
                           time.perf_counter() - t0)
    log.info("batch: %d inputs, %d done before, %d classified (%d failed) in %.1f s", summary.total,
             summary.skipped, summary.processed, summary.failed, summary.seconds)
    return summary


def _local_records(todo, model, opts, workers, device, runtime, threads) -> Iterator[dict]:
    from .local import classify_local

    yield from classify_local(todo, model, opts, workers=workers, device=device, runtime=runtime, threads=threads)


def _ray_records(todo, model, opts, address, runtime, actors) -> Iterator[dict]:
    from .ray_engine import classify_ray, ray_session

    with ray_session(address):
        yield from classify_ray(todo, model, opts, runtime=runtime, actors=actors)


def _write(records: Iterator[dict], store: ResultStore, total: int, chunk_rows: int, progress: bool) -> int:
    """Drain `records` into chunks (every `chunk_rows` rows or CHUNK_SECONDS); on Ctrl-C keep what is finished."""
    from ..train.progress import progress_bar

    bar = progress_bar(total, "classify", "video", progress)
    rows, failed, last = [], 0, time.monotonic()
    try:
        for record in records:
            rows.append(flatten(record))
            failed += "error" in record
            bar.update(1)
            if failed:
                bar.set_postfix(failed=failed, refresh=False)
            if len(rows) >= chunk_rows or time.monotonic() - last > CHUNK_SECONDS:
                store.write(rows)
                rows, last = [], time.monotonic()
    finally:  # also on KeyboardInterrupt: the finished rows are kept, the rerun skips them
        store.write(rows)
        bar.close()
        records.close()  # stop the engine now: worker pool or Ray session
    return failed


def extract_batch(inputs, cache_dir: str | Path, backbone: str, views: list, *, ray: str | bool | None = None,
                  workers: int = 2, device: str | None = None, runtime: str = "auto", progress: bool = True,
                  actors: int | None = None, **kwargs) -> BatchSummary:
    """Fill the training feature cache (`vidtype.train.features`) for every video of `inputs`.

    The same cache files `extract_features` writes and `vidtype train` reads: pass the run's settings
    (frames, sharpen, augment, dtype, ...) as `kwargs` and its views (`training_views(n, jitter)`). Locally the
    cache's own engine runs (decode threads ahead of the encoder); with `ray`, decode tasks and encoder actors.
    Returns a summary whose `failed` counts the videos that could not be decoded.
    """
    from ..train.progress import progress_bar

    t0 = time.perf_counter()
    items = resolve_inputs(inputs)
    urls = [p for p in items if is_url(p)]
    if urls:
        from .inputs import InputError

        raise InputError(f"feature extraction needs local files (the cache is keyed by file content); "
                         f"{len(urls)} URL(s) given, e.g. {urls[0]}")
    cache_dir = Path(cache_dir).expanduser()
    if ray is None or ray is False:
        results = _extract_local(items, cache_dir, backbone, views, workers, device, runtime, kwargs)
    else:
        results = _extract_ray(items, cache_dir, backbone, views, None if ray is True else ray, runtime, actors,
                               kwargs)
    bar = progress_bar(len(items), f"features {backbone}", "video", progress)
    failed = 0
    for path, error in results:
        if error:
            failed += 1
            log.warning("skipping %s: %s", path, error)
        bar.update(1)
    bar.close()
    return BatchSummary(str(cache_dir), len(items), 0, len(items), failed, time.perf_counter() - t0)


def _extract_local(items, cache_dir, backbone, views, workers, device, runtime, kwargs, block: int = 32):
    """The cache's own engine, in blocks so that progress shows and features are not all held in memory."""
    from .. import backbones
    from ..pipeline import default_device
    from ..train.features import extract_features

    encoder = backbones.create(backbone, device=device or default_device(), runtime=runtime)
    for start in range(0, len(items), block):
        feats = extract_features(items[start:start + block], encoder, views, cache_dir, workers=workers,
                                 progress=False, **kwargs)
        yield from ((f.path, f.error) for f in feats)


def _extract_ray(items, cache_dir, backbone, views, address, runtime, actors, kwargs):
    from .ray_engine import extract_ray, ray_session

    with ray_session(address):
        yield from extract_ray(items, backbone, views, cache_dir, runtime=runtime, actors=actors, **kwargs)


__all__ = ["classify_batch", "extract_batch", "BatchSummary", "resolve_inputs", "ResultStore", "flatten",
           "DownloadLimits"]
