"""The feature cache: decode, sample and encode each video once per (content, backbone, settings, view).

    feats = extract_features(paths, "efficientnet_lite0", training_views(4, jitter=0.5), cache_dir)
    feats[i].features   # (V, T, D) backbone features of video i, one row per view
    feats[i].times      # (V, T) frame times in seconds;  feats[i].mask  # (V, T) True = a real frame

Each view of each video is one safetensors file, `CACHE/<backbone>/<key[:2]>/<key>.safetensors`, where `key`
hashes the file's *content* (not its name), the backbone, the sampling settings and the view's recipe. A rerun,
another head, an ensemble member or a sweep finds its features there and decodes nothing; an interrupted
extraction resumes where it stopped (files are written atomically). Videos that cannot be decoded are recorded
under `CACHE/failed/` and skipped on later runs.

Views (`View`) mirror what the pipeline computes at inference:
- `CLEAN` — `sample_frames(path, frames)` + `preprocess`: exactly `vidtype.classify(path)` without TTA;
- `eval_views(tta=True)` — the 8 views of `classify(path, tta=True)`: two temporal samples (the second with
  `seed=1, jitter=pipeline.TTA_JITTER`) x the 4 spatial `tta_views`, in the pipeline's order;
- `training_views(n)` — CLEAN plus n-1 augmented views: temporal jitter (`seed=k`) and a random clip
  augmentation recipe (see augment.py) drawn from the view number and the file's hash.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..errors import VidtypeError
from ..pipeline import TTA_JITTER
from .augment import AUGMENT_VERSION, apply_recipe, random_recipe
from .config import AugmentConfig
from .progress import progress_bar

log = logging.getLogger(__name__)

FEATURE_VERSION = 1  # bump when what a cached view means changes


@dataclass(frozen=True)
class View:
    """How one view of a video is made: temporal sample (seed, jitter), spatial crop, augmentation."""

    name: str
    seed: int | None = None  # sample_frames(seed=...)
    jitter: float = 0.0  # sample_frames(jitter=...)
    spatial: int | None = None  # index into transforms.tta_views; None: transforms.preprocess
    augment: int | None = None  # augmented view number (draws the recipe); None: no augmentation


CLEAN = View("clean")


def training_views(n: int, jitter: float = 0.5) -> list[View]:
    """CLEAN plus `n - 1` augmented views (temporal jitter + a random clip augmentation each)."""
    return [CLEAN] + [View(f"aug{k}", seed=k, jitter=jitter, augment=k) for k in range(1, n)]


def eval_views(tta: bool = False) -> list[View]:
    """The views `vidtype.classify` computes: CLEAN, or with TTA its 8 views in the pipeline's order."""
    if not tta:
        return [CLEAN]
    return [View(f"tta{t}.{s}", seed=seed, jitter=jit, spatial=s)
            for t, (seed, jit) in enumerate([(None, 0.0), (1, TTA_JITTER)]) for s in range(4)]


@dataclass
class VideoFeatures:
    """The cached features of one video, one row per requested view (None when the video failed)."""

    path: str
    features: torch.Tensor | None = None  # (V, T, D), stored dtype (float16 by default)
    times: torch.Tensor | None = None  # (V, T) float32
    mask: torch.Tensor | None = None  # (V, T) bool
    error: str | None = None  # "code: message" when the video could not be decoded
    info: dict = field(default_factory=dict)  # probe facts of the first view's sample


def stack_usable(feats: dict[str, list[VideoFeatures]]) -> tuple[list[int], dict]:
    """The indices of the videos with features from every backbone of `feats` ({backbone: [VideoFeatures]}, the
    same videos in the same order), and per backbone their stacked (features (N,V,T,D), mask (N,V,T))."""
    names = list(feats)
    keep = [i for i in range(len(feats[names[0]])) if all(feats[b][i].error is None for b in names)]
    return keep, {b: (torch.stack([feats[b][i].features for i in keep]), torch.stack([feats[b][i].mask for i in keep]))
                  for b in names}


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# ---- hashing and keys ----------------------------------------------------------------------------------------

_HASHES: dict[tuple, str] = {}


def file_hash(path: str | Path) -> str:
    """BLAKE2b of the file's bytes (memoised per path, size and mtime within this process)."""
    st = os.stat(path)
    memo = (str(path), st.st_size, st.st_mtime_ns)
    if memo not in _HASHES:
        h = hashlib.blake2b(digest_size=20)
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _HASHES[memo] = h.hexdigest()
    return _HASHES[memo]


def _sampling_defaults() -> dict:
    """sample_frames' own defaults that shape the frames (so a changed default invalidates the cache)."""
    from ..sampling import sample_frames

    params = inspect.signature(sample_frames).parameters
    return {k: params[k].default for k in ("max_side",) if k in params}


def settings_dict(backbone: str, frames: int, sharpen: bool, augment: AugmentConfig) -> dict:
    """Everything besides the file and the view that determines a cached view."""
    return {"v": FEATURE_VERSION, "backbone": backbone, "frames": frames, "sharpen": sharpen,
            "sampling": _sampling_defaults(), "augment": asdict(augment), "augment_version": AUGMENT_VERSION}


def view_key(content: str, settings: dict, view: View) -> str:
    """The cache key of one view of one video."""
    s = dict(settings)
    if view.augment is None:  # unaugmented views do not depend on the augmentation settings
        s.pop("augment"), s.pop("augment_version")
    blob = json.dumps({"file": content, "settings": s, "view": asdict(view) | {"name": None}}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:40]


# ---- reading and writing cache entries ------------------------------------------------------------------------

def _entry_path(cache_dir: Path, backbone: str, key: str) -> Path:
    return cache_dir / backbone / key[:2] / f"{key}.safetensors"


def _failure_path(cache_dir: Path, content: str, settings: dict) -> Path:
    s = {k: settings[k] for k in ("frames", "sharpen", "sampling")}
    key = hashlib.sha256(json.dumps({"file": content, "s": s}, sort_keys=True).encode()).hexdigest()[:40]
    return cache_dir / "failed" / f"{key}.json"


def _atomic_save(tensors: dict, path: Path, metadata: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".safetensors")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_entry(path: Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict]:
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        return f.get_tensor("features"), f.get_tensor("times"), f.get_tensor("mask"), json.loads(meta.get("info", "{}"))


# ---- extraction ------------------------------------------------------------------------------------------------

@dataclass
class _Job:
    index: int
    path: str
    content: str = ""
    missing: list[View] = field(default_factory=list)
    images: dict[str, list[np.ndarray]] = field(default_factory=dict)  # view name -> frames
    times: dict[str, list[float]] = field(default_factory=dict)
    infos: dict[str, dict] = field(default_factory=dict)
    error: str | None = None


def _as_path(item) -> str:
    return str(getattr(item, "path", item))


def extract_features(items: Iterable, backbone, views: list[View], cache_dir: str | Path, *, frames: int = 16,
                     sharpen: bool = False, augment: AugmentConfig | None = None, device=None, runtime: str = "auto",
                     batch_size: int = 64, workers: int = 2, timeout_s: float = 120.0, dtype: str = "float16",
                     load: bool = True, progress: bool = True, retry_failed: bool = False) -> list[VideoFeatures]:
    """Make sure every (item, view) is cached, and return each item's features (V, T, D) + times + mask.

    `items`: paths or objects with a `.path` (dataset Items). `backbone`: a registry name or an Encoder
    (anything with `.info.name`, `.info.input_size` and `__call__(batch) -> (N, D)`), created lazily only when
    something is missing. With `load=False` nothing is returned but the cache is filled (for batch engines).
    Failed videos come back with `.error` set and no features.
    """
    cache_dir = Path(cache_dir).expanduser()
    augment = augment or AugmentConfig()
    paths = [_as_path(it) for it in items]
    name = backbone if isinstance(backbone, str) else backbone.info.name
    settings = settings_dict(name, frames, sharpen, augment)
    store_dtype = {"float16": torch.float16, "float32": torch.float32}[dtype]
    encoder = None if isinstance(backbone, str) else backbone
    device = torch.device(device) if device is not None else getattr(encoder, "device", None) or default_device()

    def plan(i: int) -> _Job:
        job = _Job(i, paths[i])
        try:
            job.content = file_hash(job.path)
        except OSError as e:
            job.error = f"not_a_video: cannot read {job.path}: {e.strerror or e}"
            return job
        fail = _failure_path(cache_dir, job.content, settings)
        if fail.is_file() and not retry_failed:
            job.error = json.loads(fail.read_text())["error"]
            return job
        job.missing = [v for v in views if not _entry_path(cache_dir, name, view_key(job.content, settings, v)).is_file()]
        return job

    def decode(i: int) -> _Job:
        """CPU stage (worker threads): hash, then sample frames once per temporal setting, then augment."""
        job = plan(i)
        if job.error or not job.missing:
            return job
        from ..sampling import sample_frames

        samples = {}
        try:
            for v in job.missing:
                t = (v.seed, v.jitter)
                if t not in samples:
                    samples[t] = sample_frames(job.path, frames, seed=v.seed, jitter=v.jitter, sharpen=sharpen,
                                               timeout_s=timeout_s)
                    if not samples[t].frames:
                        raise VidtypeError("no usable frame could be decoded")
        except VidtypeError as e:
            job.error = f"{e.code}: {e}"
            if e.code != "decode_timeout":  # a timeout may pass on a less busy machine: try again next time
                _atomic_write_json(_failure_path(cache_dir, job.content, settings), {"path": job.path, "error": job.error})
            return job
        for v in job.missing:
            s = samples[(v.seed, v.jitter)]
            images = [f.image for f in s.frames]
            if v.augment is not None:
                seed = int(job.content[:12], 16) ^ (v.augment * 0x9E3779B1)
                images = apply_recipe(images, random_recipe(np.random.default_rng(seed), augment))
            job.images[v.name] = images
            job.times[v.name] = [f.time_s for f in s.frames]
            info = s.info
            job.infos[v.name] = {k: getattr(info, k, None) for k in ("duration_s", "width", "height", "fps", "codec")}
        return job

    bar = progress_bar(len(paths), f"features {name}", "video", progress)
    for job in _ordered_map(decode, iter(range(len(paths))), workers):
        if job.images:
            if encoder is None:
                from .. import backbones

                encoder = backbones.create(name, device=device, runtime=runtime)
            _encode_and_store(job, encoder, device, cache_dir, name, settings, frames, batch_size, store_dtype)
        if job.error:
            log.warning("skipping %s: %s", job.path, job.error)
        bar.update(1)
    bar.close()
    if not load:
        return []
    return [load_features(p, name, views, cache_dir, frames=frames, sharpen=sharpen, augment=augment) for p in paths]


def load_features(path: str | Path, backbone: str, views: list[View], cache_dir: str | Path, *, frames: int = 16,
                  sharpen: bool = False, augment: AugmentConfig | None = None) -> VideoFeatures:
    """The cached views of one video (all must be cached, or the video recorded as failed)."""
    cache_dir = Path(cache_dir).expanduser()
    settings = settings_dict(backbone, frames, sharpen, augment or AugmentConfig())
    content = file_hash(path) if Path(path).is_file() else ""
    fail = _failure_path(cache_dir, content, settings)
    if not content or fail.is_file():
        err = json.loads(fail.read_text())["error"] if content else f"not_a_video: cannot read {path}"
        return VideoFeatures(str(path), error=err)
    parts = [_read_entry(_entry_path(cache_dir, backbone, view_key(content, settings, v))) for v in views]
    return VideoFeatures(str(path), torch.stack([p[0] for p in parts]), torch.stack([p[1] for p in parts]),
                         torch.stack([p[2] for p in parts]), info=parts[0][3])


def _encode_and_store(job: _Job, encoder, dev: torch.device, cache_dir: Path, name: str, settings: dict,
                      frames: int, batch_size: int, store_dtype: torch.dtype) -> None:
    """GPU stage (main thread): preprocess each missing view, encode in batches, write one file per view."""
    from ..transforms import preprocess, tta_views

    size = encoder.info.input_size
    tensors, spatial_cache = [], {}
    for v in job.missing:
        images = job.images[v.name]
        if v.spatial is None:
            tensors.append(preprocess(images, size, dev))
        else:
            t = (v.seed, v.jitter)
            if t not in spatial_cache:
                spatial_cache[t] = tta_views(images, size, dev)
            tensors.append(spatial_cache[t][v.spatial])
    lengths = [len(t) for t in tensors]
    batch = torch.cat(tensors)
    with torch.inference_mode():
        feats = torch.cat([encoder(batch[s:s + batch_size]).float().cpu() for s in range(0, len(batch), batch_size)])
    start = 0
    for v, n in zip(job.missing, lengths):
        f = feats[start:start + n]
        start += n
        out = torch.zeros(frames, f.shape[1], dtype=store_dtype)
        out[:n] = f[:frames].to(store_dtype)
        times = torch.zeros(frames, dtype=torch.float32)
        times[:n] = torch.tensor(job.times[v.name][:frames], dtype=torch.float32)
        mask = torch.zeros(frames, dtype=torch.bool)
        mask[:n] = True
        meta = {"path": job.path, "view": v.name, "backbone": name, "info": json.dumps(job.infos[v.name])}
        _atomic_save({"features": out, "times": times, "mask": mask},
                     _entry_path(cache_dir, name, view_key(job.content, settings, v)), meta)
    job.images.clear()


def _atomic_write_json(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def _ordered_map(fn, items: Iterator, workers: int) -> Iterator:
    """map(fn, items) with up to 2*workers calls running ahead in threads, results in input order."""
    if workers <= 0:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(workers) as pool:
        pending = []
        for it in items:
            pending.append(pool.submit(fn, it))
            if len(pending) >= 2 * workers:
                yield pending.pop(0).result()
        for fut in pending:
            yield fut.result()
