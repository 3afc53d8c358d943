"""The Ray engine: the same two stages as the local engine, spread over a Ray cluster with Ray Data.

    with ray_session("auto"):                         # None: a local instance (or $RAY_ADDRESS)
        for record in classify_ray(paths, model, DecodeOptions(frames=16)):
            ...

Classification: `ray.data.from_items` over the inputs -> `map(decode)` in CPU tasks (download + `sample_frames`;
the FrameSamples travel pickled through the object store) -> `map_batches(_Predictor,
compute=ActorPoolStrategy(min_size=1, max_size=n), num_gpus=1 if the cluster has GPUs)`: an autoscaling pool
of actors, each holding one `Classifier` and running `BatchPredictor` on a few videos at a time -> records
stream back to the driver, which writes them as atomic Parquet chunks (`results.ResultStore`, shared with the
local engine: the same resume guarantees; rows are about a kilobyte, so the driver is never the bottleneck).

Feature extraction (`extract_ray`): `map_batches` tasks run the training pipeline's own
`train.features.extract_features` on blocks of videos (hashing, sampling, augmentation and the cache files are
all its own), with a `RemoteEncoder` in place of the backbone, which sends each preprocessed batch to a pool of
encoder actors (GPUs when there are any). Tasks write the cache files, so CACHE_DIR must be storage every node
sees (NFS, a mounted bucket).

Custom backbones (`backbones.register`) must be registered in Ray's workers too, e.g. with
`ray.init(runtime_env={"worker_process_setup_hook": "mypackage.register_backbones"})`.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import random
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch

from .predict import BatchPredictor, DecodeOptions, decode_video, for_backbones

BATCH_FRAMES = 64  # frames per actor call on the CPU; GPU actors take GPU_BATCH_FRAMES
GPU_BATCH_FRAMES = 256
# Memory a decode task may hold (decoder buffers, candidate frames). Declaring it also keeps Ray Data from fusing
# the decode tasks into the model actors (operators with different resource requests are never fused).
DECODE_MEMORY = 1024 * 1024 * 1024


@contextlib.contextmanager
def ray_session(address: str | None = None):
    """Use the running Ray instance, or connect to / start one (`address`: None, "auto", "ray://host:10001"); a
    session started here is shut down at the end."""
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False)
    ctx = ray.data.DataContext.get_current()
    bars = ctx.enable_progress_bars
    ctx.enable_progress_bars = False  # the driver shows one bar of its own
    try:
        yield ray
    finally:
        ctx.enable_progress_bars = bars
        if started:
            ray.shutdown()


def _resources() -> tuple[int, int]:
    """(CPUs, GPUs) of the cluster."""
    import ray

    res = ray.cluster_resources()
    return int(res.get("CPU", 1)), int(res.get("GPU", 0))


def _actor_plan(actors: int | None) -> tuple[int, str, dict]:
    """(most actors, device, resources of one actor): one GPU each when there are GPUs, else one CPU each and
    at most half the CPUs (the other half decodes)."""
    cpus, gpus = _resources()
    if gpus:
        return actors or gpus, "cuda", {"num_gpus": 1}
    return actors or max(1, cpus // 2), "cpu", {"num_cpus": 1}


# ---- classification --------------------------------------------------------------------------------------------

def _decode_row(row: dict, opts: DecodeOptions) -> dict:
    from .. import decode

    decode.DECODER_THREADS = 1  # a decode task holds one CPU
    return {"decoded": pickle.dumps(decode_video(row["path"], opts), protocol=pickle.HIGHEST_PROTOCOL)}


class _Predictor:
    """A model actor: one Classifier, `BatchPredictor` over each batch of decoded videos."""

    def __init__(self, model, device: str, runtime: str, tta: bool):
        from .local import engine_classifier

        clf = engine_classifier(model, device=device, runtime=runtime, threads=1 if device == "cpu" else None)
        self.predictor = BatchPredictor(clf, tta=tta)  # a CPU actor holds one CPU: one backbone thread

    def __call__(self, batch: dict) -> dict:
        decoded = [pickle.loads(b) for b in batch["decoded"]]
        return {"record": [json.dumps(r) for r in self.predictor.predict(decoded)]}


def classify_ray(items: Iterable[str], model, opts: DecodeOptions, *, runtime: str = "auto",
                 actors: int | None = None, batch_videos: int | None = None) -> Iterator[dict]:
    """Classify `items` on the connected Ray cluster; yield one record per item as they arrive.

    `model`: a loaded `store.Model` (shipped to the actors through the object store, so no shared disk is needed).
    `actors`: the most model actors (default: one per GPU, or half the CPUs); `batch_videos`: videos per call.
    """
    import ray

    items = list(items)
    if not items:
        return
    n_actors, device, resources = _actor_plan(actors)
    per_video = opts.frames * (2 if opts.tta else 1)
    batch_videos = batch_videos or max(1, (GPU_BATCH_FRAMES if device == "cuda" else BATCH_FRAMES) // per_video)
    ds = ray.data.from_items([{"path": p} for p in items])
    ds = ds.map(_decode_row, fn_kwargs={"opts": for_backbones(opts, model.backbones)}, num_cpus=1,
                memory=DECODE_MEMORY)
    ds = ds.map_batches(_Predictor, fn_constructor_kwargs={"model": model, "device": device, "runtime": runtime,
                                                          "tta": opts.tta},
                        batch_size=batch_videos, batch_format="numpy",
                        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=n_actors), **resources)
    for row in ds.iter_rows():
        yield json.loads(row["record"])


# ---- feature extraction ----------------------------------------------------------------------------------------

class _EncoderActor:
    """A backbone on one device; `encode` takes and returns numpy arrays."""

    def __init__(self, backbone: str, device: str, runtime: str):
        from .. import backbones

        self.encoder = backbones.create(backbone, device=device, runtime=runtime, threads=1)  # a CPU actor: 1 CPU

    def encode(self, batch: np.ndarray) -> np.ndarray:
        return self.encoder(torch.from_numpy(batch)).float().cpu().numpy()


class RemoteEncoder:
    """Stands in for a `backbones.Encoder` inside a task: each batch is encoded by one of the encoder actors."""

    def __init__(self, actors: list, backbone: str):
        from .. import backbones

        self.info = backbones.info(backbone)
        self.device = torch.device("cpu")  # where the task preprocesses and where features come back
        self._actors = actors

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        import ray

        actor = random.choice(self._actors)
        return torch.from_numpy(ray.get(actor.encode.remote(batch.contiguous().numpy())))


def _extract_block(batch: dict, actors: list, backbone: str, views: list, cache_dir: str, kwargs: dict) -> dict:
    from ..train.features import extract_features

    paths = [str(p) for p in batch["path"]]
    feats = extract_features(paths, RemoteEncoder(actors, backbone), views, cache_dir, workers=1, progress=False,
                             **kwargs)
    return {"path": paths, "error": [f.error or "" for f in feats]}


def extract_ray(paths: Iterable[str], backbone: str, views: list, cache_dir: str | Path, *, runtime: str = "auto",
                actors: int | None = None, block: int = 8, **kwargs) -> Iterator[tuple[str, str | None]]:
    """Fill the feature cache for `paths` on the Ray cluster; yield (path, error or None) per video.

    `kwargs` go to `extract_features` (frames, sharpen, augment, batch_size, timeout_s, dtype, retry_failed).
    """
    import ray

    paths = list(paths)
    if not paths:
        return
    n_actors, device, resources = _actor_plan(actors)
    pool = [ray.remote(**resources)(_EncoderActor).remote(backbone, device, runtime) for _ in range(n_actors)]
    ds = ray.data.from_items([{"path": p} for p in paths])
    ds = ds.map_batches(_extract_block, batch_size=block, num_cpus=1, memory=DECODE_MEMORY,
                        fn_kwargs={"actors": pool, "backbone": backbone, "views": views,
                                   "cache_dir": str(cache_dir), "kwargs": kwargs})
    try:
        for row in ds.iter_rows():
            yield row["path"], row["error"] or None
    finally:
        for actor in pool:
            ray.kill(actor)
