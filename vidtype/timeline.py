"""Timelines: classify consecutive windows of one video, so that a mixed video gets a label per segment.

    segments = classify_timeline(clf, "mixed.mp4", seconds=10)
    [(s.start_s, s.end_s, s.label) for s in segments]

The sampled times of all windows are decoded in sorted passes (one pass unless the video is long enough that the
frames would not fit in memory together), each window's frames are judged by `quality.assess`, and each window is
classified on its own with `Classifier.classify_samples`.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import asdict, dataclass

from .decode import decode_at, probe
from .quality import assess
from .sampling import FrameSample, Rejected, select

SPARE = 0.25  # extra candidates per window, to replace frames that quality rejects
MAX_FRAMES_IN_MEMORY = 256  # candidate frames decoded in one pass; longer timelines take several sorted passes


@dataclass
class Segment:
    """One window of a timeline and its label."""

    start_s: float
    end_s: float
    label: str
    confidence: float
    probabilities: dict[str, float]
    trust: float

    def to_dict(self) -> dict:
        return asdict(self)


def windows(duration_s: float, seconds: float) -> list[tuple[float, float]]:
    """Consecutive (start, end) windows of `seconds` covering `duration_s`; a last window shorter than half a
    window joins the one before it."""
    if seconds <= 0:
        raise ValueError(f"segment length must be positive, got {seconds}")
    full = int(duration_s // seconds)
    rest = duration_s - full * seconds
    n = full + 1 if (rest >= seconds / 2 or full == 0) else full
    return [(k * seconds, duration_s if k == n - 1 else (k + 1) * seconds) for k in range(n)]


def candidate_times(start: float, end: float, n: int) -> list[float]:
    """`n` times at the centres of equal parts of [start, end)."""
    step = (end - start) / n
    return [start + (i + 0.5) * step for i in range(n)]


def sample_window(info, frames: list, n: int) -> FrameSample:
    """Choose up to `n` of one window's frames the way `sampling` does (good ones, spread in time, denser where
    the picture changes) and report the rejected ones with their reason.

    When quality rejects every frame (a black window) the least bad ones are classified, so that a timeline has
    no holes; they then appear in `rejected` as well (the `FrameSample` convention).
    """
    quality = assess([f.image for f in frames])
    chosen = [frames[i] for i in select(frames, quality, n)]
    rejected = [Rejected(f.time_s, q.reason) for f, q in zip(frames, quality) if q.reason is not None]
    return FrameSample(info, chosen, rejected)


def _chunks(spans: list, per_window: int) -> list[list[int]]:
    size = max(1, MAX_FRAMES_IN_MEMORY // per_window)
    return [list(range(i, min(i + size, len(spans)))) for i in range(0, len(spans), size)]


def classify_timeline(clf, path, seconds: float, frames: int | None = None, *, info=None, tta: bool = False,
                      timeout_s: float = 60.0) -> list[Segment]:
    """Classify consecutive `seconds`-long windows of the video at `path` with the `Classifier` `clf`.

    frames: frames per window (default: the model's). timeout_s bounds the decoding of the whole timeline.
    """
    info = info or probe(path)
    spans = windows(info.duration_s, seconds)
    n = frames or clf.model.frames
    per_window = n + max(1, round(n * SPARE))
    deadline = time.monotonic() + timeout_s
    segments = []
    for chunk in _chunks(spans, per_window):
        times = [t for k in chunk for t in candidate_times(*spans[k], per_window)]
        decoded = decode_at(path, times, info=info, deadline=deadline)
        starts = [spans[k][0] for k in chunk]
        per: dict[int, dict[float, object]] = {k: {} for k in chunk}
        for f in decoded:  # a frame belongs to the window its time falls in; duplicates (low fps) count once
            k = chunk[max(0, bisect.bisect_right(starts, f.time_s) - 1)]
            per[k].setdefault(round(f.time_s, 6), f)
        for k in chunk:
            window_frames = sorted(per[k].values(), key=lambda f: f.time_s)
            if not window_frames:  # nothing decodable there (a damaged stretch): leave the window out
                continue
            sample = sample_window(info, window_frames, n)
            pred = clf.classify_samples(str(path), [sample], tta=tta)
            start, end = spans[k]
            segments.append(Segment(round(start, 3), round(end, 3), pred.label, pred.confidence,
                                    pred.probabilities, pred.trust))
    return segments
