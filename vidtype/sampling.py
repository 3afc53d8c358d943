"""Choose which frames of a video to look at: adaptive, keyframe-aware, with bad frames replaced.

`sample_frames` in four steps:
1. candidates: a grid of CANDIDATE_FACTOR x n_frames times across the verified duration (shifted by `jitter`),
   decoded by `decode.decode_at`, which snaps them to keyframes on long files so the cost does not grow with length;
2. quality: black and blurred candidates are rejected (`quality.assess`);
3. top-up: when fewer than n_frames good candidates remain (rejections, or too few keyframes on a long file), more
   candidates are decoded a few frames after existing ones, so that this stays cheap on any length of file;
4. selection: n_frames of the good candidates, spread evenly in time but with more of them where the picture
   changes (differences of small grayscale thumbnails).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vidtype.decode import Frame, VideoInfo, decode_at, probe
from vidtype.errors import DecodeError
from vidtype.quality import FrameQuality, assess
from vidtype.quality import sharpen as unsharp_mask

CANDIDATE_FACTOR = 1.5        # candidates decoded per frame returned
CHANGE_WEIGHT = 0.65          # share of the selection driven by content change; the rest spreads evenly in time
TOPUP_STEP_FRAMES = 8         # a top-up candidate lies at most this many frames after the one before it
THUMB_SIDE = 32


@dataclass
class Rejected:
    """A candidate frame left out, and why: "black" or "blurred"."""

    time_s: float
    reason: str


@dataclass
class FrameSample:
    """The frames chosen from a video (sorted by time) and the candidates rejected on the way.

    When every candidate was rejected, `frames` holds the least bad of them (the classifier needs at least one);
    those times then appear in `rejected` as well.
    """

    info: VideoInfo
    frames: list[Frame]
    rejected: list[Rejected]


def sample_frames(path, n_frames: int = 16, *, seed: int | None = None, jitter: float = 0.0, sharpen: bool = False,
                  max_side: int = 512, timeout_s: float = 60.0, max_pixels: int | None = None) -> FrameSample:
    """Pick up to `n_frames` informative frames of the video at `path` (fewer only if it has fewer distinct frames).

    seed/jitter: shift each candidate time randomly by up to +-jitter/2 of the grid spacing (jitter in [0, 1]),
    for training views and test-time augmentation. sharpen: apply an unsharp mask to the chosen frames.
    Raises the `vidtype.errors.DecodeError` family (see `decode.probe`).
    """
    if n_frames < 1:
        raise ValueError("n_frames must be at least 1")
    deadline = time.monotonic() + timeout_s
    info = probe(path, timeout_s=timeout_s, max_pixels=max_pixels)
    n_candidates = max(n_frames, math.ceil(CANDIDATE_FACTOR * n_frames))
    times = candidate_times(info.duration_s, n_candidates, seed=seed, jitter=jitter)
    candidates = decode_at(path, times, info=info, max_side=max_side, deadline=deadline)
    quality = assess([c.image for c in candidates])

    if not candidates:
        raise DecodeError(f"{Path(path).name}: no frame could be decoded.")

    good = [q.reason is None for q in quality]
    extra_times = _topup_times([c.time_s for c in candidates], good, n_frames - sum(good), info)
    if extra_times:
        extra = decode_at(path, extra_times, info=info, max_side=max_side, deadline=deadline, exact=True)
        candidates = _merge(candidates, extra)
        quality = assess([c.image for c in candidates])  # blur is relative: judge all of them again

    chosen = select(candidates, quality, n_frames)
    frames = [candidates[i] for i in chosen]
    if sharpen:
        frames = [Frame(f.time_s, unsharp_mask(f.image), f.keyframe) for f in frames]
    rejected = [Rejected(c.time_s, q.reason) for c, q in zip(candidates, quality) if q.reason]
    return FrameSample(info, frames, rejected)


def candidate_times(duration_s: float, n: int, *, seed: int | None = None, jitter: float = 0.0) -> list[float]:
    """The centres of `n` equal segments of the video, each moved by up to +-jitter/2 of a segment."""
    if duration_s <= 0:
        return [0.0]
    offsets = np.full(n, 0.5)
    if jitter > 0:
        offsets += min(jitter, 1.0) * np.random.default_rng(seed).uniform(-0.5, 0.5, n)
    return [float((i + o) * duration_s / n) for i, o in enumerate(offsets)]


def _topup_times(times: list[float], good: list[bool], missing: int, info: VideoInfo) -> list[float]:
    """About 2 x `missing` new candidate times, each just after a good candidate, spread over the video.

    A new time lies at most TOPUP_STEP_FRAMES frames after the one before it (and within the gap to the next
    candidate), so reaching it costs little decoding even on a long file with few keyframes.
    """
    if missing <= 0:
        return []
    fps = info.fps or 25.0
    ends = times[1:] + [info.duration_s]
    roomy = [i for i in range(len(times)) if (ends[i] - times[i]) * fps >= 2]  # space for a frame in between
    anchors = [i for i in roomy if good[i]] or roomy
    if not anchors:
        return []
    wanted = 2 * missing
    per_anchor = math.ceil(wanted / len(anchors))
    picks = np.linspace(0, len(anchors) - 1, min(wanted, len(anchors))).round().astype(int)
    extra = []
    for i in sorted({anchors[p] for p in picks}):
        step = min((ends[i] - times[i]) / (per_anchor + 1), TOPUP_STEP_FRAMES / fps)
        extra += [times[i] + j * step for j in range(1, per_anchor + 1)]
    return extra


def _merge(a: list[Frame], b: list[Frame]) -> list[Frame]:
    """Candidates of both lists, sorted by time, one per distinct time."""
    by_time = {round(f.time_s, 6): f for f in a + b}
    return [by_time[t] for t in sorted(by_time)]


def select(candidates: list[Frame], quality: list[FrameQuality], n: int) -> list[int]:
    """Indices (sorted) of up to `n` candidates: good ones, spread in time, denser where the picture changes.

    Each good candidate gets a weight: the time it stands for (half the gaps to its neighbours) plus its content
    change (thumbnail difference to its neighbours), mixed by CHANGE_WEIGHT; then `n` are drawn by systematic
    sampling proportional to weight, which never picks a candidate twice. With no good candidate at all, the least
    bad ones are kept.
    """
    good = [i for i, q in enumerate(quality) if q.reason is None]
    if not good:
        least_bad = sorted(range(len(quality)), key=lambda i: _badness(quality[i]))[:n]
        return sorted(least_bad)
    if len(good) <= n:
        return good
    times = np.array([candidates[i].time_s for i in good])
    thumbs = np.stack([_thumbnail(candidates[i].image) for i in good])
    diffs = np.abs(np.diff(thumbs, axis=0)).mean(axis=(1, 2))  # between neighbours in time
    change = (np.r_[diffs, diffs[-1]] + np.r_[diffs[0], diffs]) / 2
    middles = (times[1:] + times[:-1]) / 2
    edges = np.r_[2 * times[0] - middles[0], middles, 2 * times[-1] - middles[-1]]
    span = np.diff(edges) + 1e-6
    weight = (1 - CHANGE_WEIGHT) * span / span.mean()
    if change.mean() > 1e-3:
        weight = weight + CHANGE_WEIGHT * change / change.mean()
    picked = _systematic(weight, n)
    return [good[i] for i in picked]


def _systematic(weight: np.ndarray, n: int) -> list[int]:
    """Pick `n` distinct indices with probability proportional to `weight` (capped at one), deterministically."""
    p = np.zeros_like(weight, dtype=float)
    fixed = np.zeros(len(weight), dtype=bool)
    while True:  # cap inclusion at 1 and share the excess among the others (ends: each round fixes one more)
        free = ~fixed
        p[fixed] = 1.0
        p[free] = weight[free] / weight[free].sum() * (n - fixed.sum())
        over = free & (p > 1.0)
        if not over.any():
            break
        fixed |= over
    cumulative = np.cumsum(p)
    points = np.arange(n) + 0.5
    return sorted(set(np.searchsorted(cumulative, points, side="right").clip(0, len(p) - 1).tolist()))


def _thumbnail(image: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return cv2.resize(gray, (THUMB_SIDE, THUMB_SIDE), interpolation=cv2.INTER_AREA).astype(np.float32) / 255


def _badness(q: FrameQuality) -> tuple:
    """Sort key for rejected frames: blurred before black, then sharper and brighter first."""
    return (q.reason == "black", -q.sharpness, -q.luma_mean)
