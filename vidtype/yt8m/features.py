"""YouTube-8M frame-level features: dequantising them and sampling a fixed number of seconds per view.

A frame-level record is a SequenceExample: context `id` (bytes) and `labels` (int64 list), feature lists `rgb`
(one 1024-byte entry per second: Inception-v3 + PCA, quantised to uint8) and `audio` (128 bytes per second).

    video = video_from_record(data)                    # frames (n, 1152) uint8: rgb then audio
    feats, times, mask = sample_views(video, [CLEAN], frames=32)   # (V,T,D) float32 in [-2, 2], (V,T), (V,T)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from .errors import RecordError
from .proto import parse_example

RGB_DIM, AUDIO_DIM = 1024, 128
MAX_Q, MIN_Q = 2.0, -2.0


def feature_dim(rgb_only: bool = False) -> int:
    return RGB_DIM if rgb_only else RGB_DIM + AUDIO_DIM


def dequantize(q: np.ndarray, max_q: float = MAX_Q, min_q: float = MIN_Q) -> np.ndarray:
    """uint8 -> float32 as YouTube-8M's utils.Dequantize: q * (max-min)/255 + (max-min)/512 + min."""
    span = max_q - min_q
    return q.astype(np.float32) * np.float32(span / 255.0) + np.float32(span / 512.0 + min_q)


@dataclass
class Yt8mVideo:
    """One frame-level record: id, label indices and the quantised per-second features (n, D) uint8."""

    id: str
    labels: list[int]
    frames: np.ndarray


def _stack(entries: list, dim: int, name: str, vid: str) -> np.ndarray:
    rows = [e[0] for e in entries if e]
    if any(len(r) != dim for r in rows):
        raise RecordError(f"video {vid}: `{name}` entries are not {dim} bytes each")
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), dim)


def video_from_record(data: bytes, *, rgb_only: bool = False) -> Yt8mVideo:
    """Parse a frame-level SequenceExample into a `Yt8mVideo` (rgb, or rgb + audio concatenated per second)."""
    parsed = parse_example(data, feature_lists={"rgb"} if rgb_only else {"rgb", "audio"})
    ids = parsed.context.get("id") or [b""]
    vid = ids[0].decode("utf-8", "replace") if isinstance(ids[0], bytes) else str(ids[0])
    labels = [int(x) for x in parsed.context.get("labels", [])]
    if "rgb" not in parsed.feature_lists:
        kind = "a video-level record (mean_rgb)" if "mean_rgb" in parsed.context else "a record without `rgb`"
        raise RecordError(f"video {vid}: {kind}: training needs YouTube-8M's frame-level TFRecords")
    rgb = _stack(parsed.feature_lists["rgb"], RGB_DIM, "rgb", vid)
    if rgb_only:
        return Yt8mVideo(vid, labels, rgb)
    if "audio" not in parsed.feature_lists:
        raise RecordError(f"video {vid}: no `audio` feature list (train with --yt8m-rgb-only)")
    audio = _stack(parsed.feature_lists["audio"], AUDIO_DIM, "audio", vid)
    n = min(len(rgb), len(audio))
    return Yt8mVideo(vid, labels, np.concatenate([rgb[:n], audio[:n]], axis=1))


def sample_positions(n: int, frames: int, *, seed: int | None = None, jitter: float = 0.0, key: str = "") -> np.ndarray:
    """Which of `n` seconds a view takes: all of them when n <= frames, else one per equal segment.

    seed None: each segment's centre (the clean view); otherwise the centre moved by up to `jitter` / 2 of a
    segment, drawn from (`key`, seed) so a view is the same on every run.
    """
    if n <= frames:
        return np.arange(n)
    edges = np.linspace(0.0, n, frames + 1)
    centre = (edges[:-1] + edges[1:]) / 2
    if seed is not None and jitter > 0:
        digest = int.from_bytes(hashlib.sha1(f"{key}:{seed}".encode()).digest()[:8], "little")
        shift = np.random.default_rng(digest).uniform(-0.5, 0.5, frames) * jitter * (n / frames)
        centre = np.clip(centre + shift, edges[:-1], np.nextafter(edges[1:], 0))
    return np.minimum(np.floor(centre).astype(np.int64), n - 1)


def sample_views(video: Yt8mVideo, views: list, frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(V, T, D) dequantised features, (V, T) times in seconds and (V, T) validity mask of `views` (objects
    with `seed` and `jitter`, e.g. vidtype.train.View). Short videos are padded at the end."""
    n, dim = video.frames.shape
    feats = np.zeros((len(views), frames, dim), np.float32)
    times = np.zeros((len(views), frames), np.float32)
    mask = np.zeros((len(views), frames), bool)
    for v, view in enumerate(views):
        pos = sample_positions(n, frames, seed=view.seed, jitter=view.jitter, key=video.id)
        feats[v, :len(pos)] = dequantize(video.frames[pos])
        times[v, :len(pos)] = pos
        mask[v, :len(pos)] = True
    return feats, times, mask
