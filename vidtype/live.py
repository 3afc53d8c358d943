"""Live streams: decode continuously, keep a few frames per second, classify the last window every few seconds.

    for update in watch("rtsp://camera/stream", classifier(model_dir), every=2, window=8):
        print(update.label, update.trust, update.latency_s)

Sources: a local file (played at real speed), a URL FFmpeg can open (http(s), HLS, RTSP, UDP, ...), "-" for
standard input, or any object with `read(n)` whose bytes arrive over time (the server's checked HTTP fetch).
A thread decodes every frame as it arrives and keeps `fps` of them per second in a ring buffer that spans
`window` seconds; every `every` seconds the main thread classifies that window with
`Classifier.classify_samples`. Latency is the wall time from the arrival of the window's last frame to the
result.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import av
import numpy as np

from .decode import Frame, VideoInfo
from .errors import DecodeError, DecodeTimeoutError, NotAVideoError
from .timeline import sample_window

MAX_SIDE = 448  # frames are kept at most this large (the backbone sees 224-260 pixel crops)
OPEN_OPTIONS = {"analyzeduration": "1000000", "probesize": "1000000"}  # start within about a second of a stream


@dataclass
class Update:
    """The rolling label of one window of a stream."""

    time_s: float  # stream time of the window's last frame (seconds since the first frame)
    start_s: float  # stream time of the window's first frame
    label: str
    confidence: float
    probabilities: dict[str, float]
    trust: float
    latency_s: float  # wall time from the arrival of the window's last frame to this result
    frames: int  # frames classified
    rejected: int  # frames quality rejected in the window

    def to_dict(self) -> dict:
        return asdict(self)


class FrameRing:
    """The last `window_s` seconds of a stream at no more than `fps` frames per second (thread-safe)."""

    def __init__(self, window_s: float, fps: float):
        self.window_s, self.step = window_s, 1.0 / fps
        self._items: deque[tuple[Frame, float]] = deque()  # (frame, wall time it arrived)
        self._lock = threading.Lock()
        self._last: float | None = None
        self.count = 0  # frames ever kept

    def wants(self, time_s: float) -> bool:
        """Whether a frame at this stream time is worth converting and keeping."""
        return self._last is None or time_s >= self._last + self.step * 0.95 or time_s < self._last

    def push(self, frame: Frame, arrived: float) -> None:
        with self._lock:
            if self._last is not None and frame.time_s < self._last:  # timestamps restarted: a new stream
                self._items.clear()
            self._items.append((frame, arrived))
            self._last = frame.time_s
            self.count += 1
            while self._items and self._items[0][0].time_s < frame.time_s - self.window_s:
                self._items.popleft()

    def snapshot(self) -> tuple[list[tuple[Frame, float]], int]:
        with self._lock:
            return list(self._items), self.count


class _ReadOnly:
    """Hide `seek` from PyAV (a pipe or a socket only reads forward), and hand over whatever bytes have arrived
    (`read1`) rather than wait for a full buffer."""

    def __init__(self, f):
        self._read = getattr(f, "read1", f.read)

    def read(self, n: int = -1) -> bytes:
        return self._read(n)


def is_local_file(source) -> bool:
    return isinstance(source, (str, os.PathLike)) and str(source) != "-" and os.path.exists(source)


def _open(source, open_timeout_s: float, read_timeout_s: float):
    timeout = (open_timeout_s, read_timeout_s)
    if source == "-":
        return av.open(_ReadOnly(sys.stdin.buffer), options=OPEN_OPTIONS, timeout=timeout)
    if hasattr(source, "read"):
        return av.open(_ReadOnly(source), options=OPEN_OPTIONS, timeout=timeout)
    if is_local_file(source):
        return av.open(str(source), timeout=timeout)
    return av.open(str(source), options=OPEN_OPTIONS, timeout=timeout)


def _info(source, container, stream) -> VideoInfo:
    rate = stream.average_rate or stream.guessed_rate
    cc = stream.codec_context
    return VideoInfo(
        path=str(source) if isinstance(source, (str, os.PathLike)) else "<stream>", container=container.format.name,
        codec=cc.name, width=cc.width, height=cc.height, rotation=0, fps=float(rate) if rate else None,
        duration_s=0.0, frame_count=None, pix_fmt=cc.format.name if cc.format else "unknown", bit_depth=8,
    )


def _rgb(frame, max_side: int, rotation: int):
    w, h = frame.width, frame.height
    scale = min(1.0, max_side / max(w, h))
    rgb = frame.to_ndarray(format="rgb24", width=max(2, round(w * scale)), height=max(2, round(h * scale)))
    return np.ascontiguousarray(np.rot90(rgb, k=-rotation // 90)) if rotation else rgb


class StreamReader(threading.Thread):
    """Decodes `source` continuously into a `FrameRing`; `realtime` paces a file at its own speed."""

    def __init__(self, source, ring: FrameRing, *, realtime: bool, max_side: int = MAX_SIDE,
                 open_timeout_s: float = 15.0, read_timeout_s: float = 15.0):
        super().__init__(name="vidtype-stream-reader", daemon=True)
        self.source, self.ring, self.realtime, self.max_side = source, ring, realtime, max_side
        self.timeouts = (open_timeout_s, read_timeout_s)
        self.info: VideoInfo | None = None
        self.error: Exception | None = None
        self.ended = threading.Event()
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        try:
            self._decode()
        except DecodeError as e:
            self.error = e
        except av.error.ExitError:  # the interrupt callback fired: no bytes within the read timeout
            self.error = DecodeTimeoutError(f"the stream sent nothing for {self.timeouts[1]:g} s")
        except (av.FFmpegError, OSError) as e:
            self.error = DecodeError(f"cannot read the stream: {e}")
        except Exception as e:  # reported by watch(), never lost in a thread
            self.error = e
        finally:
            self.ended.set()

    def _decode(self) -> None:
        with _open(self.source, *self.timeouts) as container:
            if not container.streams.video:
                raise NotAVideoError("the stream holds no video")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            self.info = _info(self.source, container, stream)
            fps = self.info.fps or 25.0
            t0 = wall0 = None
            rotation = 0
            for i, frame in enumerate(container.decode(stream)):
                if self._stop_event.is_set():
                    return
                t = frame.time if frame.time is not None else i / fps
                if t0 is None:
                    t0, wall0 = t, time.monotonic()
                    rotation = int(round(-frame.rotation / 90)) % 4 * 90  # clockwise, as decode.py reports it
                    w, h = (self.info.height, self.info.width) if rotation in (90, 270) else (self.info.width,
                                                                                             self.info.height)
                    self.info = dataclasses.replace(self.info, rotation=rotation, width=w, height=h)
                rel = t - t0
                if self.realtime and self._stop_event.wait(max(0.0, wall0 + rel - time.monotonic())):
                    return
                if self.ring.wants(rel):
                    self.ring.push(Frame(rel, _rgb(frame, self.max_side, rotation), frame.key_frame), time.monotonic())


def classify_window(clf, info: VideoInfo, items: list[tuple[Frame, float]], frames: int) -> Update:
    """Classify the frames of one window; latency is measured from the arrival of its last frame."""
    window = [f for f, _ in items]
    info = dataclasses.replace(info, duration_s=round(window[-1].time_s, 3))
    sample = sample_window(info, window, frames)
    pred = clf.classify_samples(str(info.path), [sample])
    return Update(
        time_s=round(window[-1].time_s, 3), start_s=round(window[0].time_s, 3), label=pred.label,
        confidence=pred.confidence, probabilities=pred.probabilities, trust=pred.trust,
        latency_s=round(time.monotonic() - items[-1][1], 3), frames=len(sample.frames), rejected=len(sample.rejected),
    )


def watch(source, clf, *, every: float = 2.0, window: float = 8.0, frames: int = 8, fps: float = 4.0,
          realtime: bool | None = None, max_side: int = MAX_SIDE, max_s: float | None = None,
          read_timeout_s: float = 15.0, stop: threading.Event | None = None) -> Iterator[Update]:
    """Yield an `Update` every `every` seconds for the last `window` seconds of `source`, until it ends.

    realtime: pace decoding at the stream's own speed (default: for local files only; network streams and pipes
    arrive at their own speed). max_s: stop after this many seconds. stop: an Event that ends the watch.
    Raises a `DecodeError` when the stream cannot be opened or breaks.
    """
    if every <= 0 or window <= 0 or frames < 1 or fps <= 0:
        raise ValueError("every, window, frames and fps must be positive")
    ring = FrameRing(window, fps)
    reader = StreamReader(source, ring, realtime=is_local_file(source) if realtime is None else realtime,
                          max_side=max_side, read_timeout_s=read_timeout_s)
    reader.start()
    started = time.monotonic()
    tick, seen = started, 0
    try:
        while True:
            tick += every
            ended = reader.ended.wait(max(0.0, tick - time.monotonic()))
            if stop is not None and stop.is_set():
                return
            items, count = ring.snapshot()
            if count > seen and items and reader.info is not None:
                seen = count
                yield classify_window(clf, reader.info, items, frames)
            if ended:
                break
            if max_s is not None and time.monotonic() - started >= max_s:
                return
            tick = max(tick, time.monotonic() - every)  # after a slow classification, skip the ticks it missed
        if reader.error is not None:
            raise reader.error
    finally:
        reader.stop()
