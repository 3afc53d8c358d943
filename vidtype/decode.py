"""Probe and decode video files with PyAV (FFmpeg). Everything in vidtype that reads a video goes through here.

- `probe(path)` -> `VideoInfo`: size, rotation, fps, a *verified* duration (the timestamps of the last packets,
  not the container's claim), frame count, pixel format.
- `decode_at(path, times)` -> `Frame`s nearest to the requested times: RGB, rotation applied, downscaled early.
  Short or densely keyed videos are read in one forward pass; long ones by seeking to the keyframe before each time,
  so the cost depends on how many frames are asked for, not on the length of the file.

Every failure raises a `vidtype.errors.DecodeError` subclass with a message a person understands. Every read loop
checks a deadline and a cap on what it reads, so a broken or hostile file cannot hang the caller.
"""

from __future__ import annotations

import os
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from vidtype.errors import DecodeError, DecodeTimeoutError, NotAVideoError, VideoTooLargeError

MAX_PIXELS = 8192 * 4352         # a little above 8K (7680x4320 and DCI 8192x4320); 16K is refused
DEFAULT_TIMEOUT_S = 60.0         # for decode_at when no deadline is given
MAX_FRAMES_PER_CALL = 20_000     # decoded frames; a call stops reading there, as if the file ended
MAX_TAIL_PACKETS = 20_000        # packets read after seeking near the end to find where the video stops
MAX_SCAN_PACKETS = 500_000       # packets read from the start when the end cannot be reached by seeking
MAX_BAD_PACKETS = 200            # undecodable packets in a row before the file is declared unusable
# decode_at(exact=None) reads exactly when that decodes at most EXACT_FRAMES_PER_TIME frames per requested time, or
# EXACT_PIXELS pixels in all (~650 frames of 320x240, ~24 of 1080p); a seek counts as SEEK_COST_FRAMES frames.
EXACT_FRAMES_PER_TIME = 8
EXACT_PIXELS = 50e6
SEEK_COST_FRAMES = 4
_FAR_FUTURE_S = 1e6              # a seek target past the end of any real video

# Leading bytes of containers FFmpeg reads: a file that starts like one of these but does not open is damaged
# (DecodeError), anything else is not a video at all (NotAVideoError).
_SIGNATURES = [
    (4, b"ftyp", "MP4/MOV"), (4, b"moov", "MOV"), (4, b"mdat", "MOV"), (4, b"wide", "MOV"), (4, b"free", "MOV"),
    (0, b"\x1a\x45\xdf\xa3", "Matroska/WebM"), (8, b"AVI ", "AVI"), (0, b"GIF8", "GIF"), (0, b"FLV", "FLV"),
    (0, b"OggS", "Ogg"), (0, b"\x00\x00\x01\xba", "MPEG-PS"), (0, b"\x30\x26\xb2\x75", "ASF/WMV"),
]


# Threads per decoder: None lets FFmpeg thread frames and slices over every core (one video at a time: classify);
# batch workers set 1, since they already run one process per core.
DECODER_THREADS: int | None = None


@dataclass
class VideoInfo:
    """What `probe` found out about a video. Sizes are display sizes (after rotation and pixel aspect ratio)."""

    path: str
    container: str        # e.g. "mp4", "matroska", "webm", "avi", "gif"
    codec: str            # e.g. "h264", "hevc", "vp9", "av1"
    width: int
    height: int
    rotation: int         # clockwise degrees (0/90/180/270) turned to display the stored picture; decode applies it
    fps: float | None     # average frame rate, None when unknown
    duration_s: float     # verified from the last packets' timestamps, not taken from the container header
    frame_count: int | None
    pix_fmt: str
    bit_depth: int


@dataclass
class Frame:
    """A decoded frame: `image` is HxWx3 uint8 RGB, rotation applied, longer side at most `max_side`."""

    time_s: float         # presentation time, seconds from the start of the video
    image: np.ndarray
    keyframe: bool


@dataclass
class DecodeStats:
    """Counters of the work decoding really did (for tests and benchmarks). Reset with `stats.reset()`."""

    frames_decoded: int = 0
    packets_read: int = 0
    seeks: int = 0

    def reset(self) -> None:
        self.frames_decoded = self.packets_read = self.seeks = 0


stats = DecodeStats()


# --------------------------------------------------------------------------- public API

def probe(path, *, timeout_s: float = 30.0, max_pixels: int | None = None) -> VideoInfo:
    """Describe the video at `path`; decodes its first frame to prove it is readable.

    Raises NotAVideoError (empty, not media, no video stream), DecodeError (damaged), VideoTooLargeError (more
    than `max_pixels`, default MAX_PIXELS), DecodeTimeoutError (took longer than `timeout_s`).
    """
    deadline = time.monotonic() + timeout_s
    with _friendly_errors(path), _Video(path, deadline) as v:
        cc = v.stream.codec_context
        _check_size(v.name, cc.width, cc.height, max_pixels)
        first = next(v.frames(), None)
        if first is None:
            raise DecodeError(f"{v.name}: no video frame could be decoded; the file is damaged or truncated.")
        first_t, frame = first
        _check_size(v.name, frame.width, frame.height, max_pixels)
        rotation = _rotation(frame, v.stream)
        dw, dh = _display_size(frame.width, frame.height, v.sar)
        if rotation in (90, 270):
            dw, dh = dh, dw
        end_s, measured_fps = v.find_end()  # may reopen the file: read v.stream afresh below
        duration = max(end_s, first_t, 0.0)
        fps = _choose_fps(v.stream, measured_fps)
        pix_fmt = frame.format.name
        return VideoInfo(
            path=str(path), container=_container_name(v.container, path), codec=_codec_name(v.stream.codec_context),
            width=dw, height=dh, rotation=rotation, fps=fps, duration_s=duration,
            frame_count=_frame_count(v.stream.frames, duration, fps), pix_fmt=pix_fmt,
            bit_depth=av.VideoFormat(pix_fmt).components[0].bits,
        )


def decode_at(path, times, *, info: VideoInfo | None = None, max_side: int = 512, deadline: float | None = None,
              exact: bool | None = None) -> list[Frame]:
    """Decode the frames nearest to `times` (seconds from the start), sorted by time, each distinct frame once.

    exact=True: the frame nearest to each time, in one forward pass that seeks ahead only when the keyframe before
    the next time lies past the current position. exact=False: seek to the keyframe before each time and take it
    (cheap on any length of file; times within one keyframe interval give one frame). exact=None (default): exact
    when that costs at most EXACT_FRAMES_PER_TIME decoded frames per time or EXACT_PIXELS decoded pixels in all,
    judged from the keyframe index.
    `deadline` is a `time.monotonic()` value (default: DEFAULT_TIMEOUT_S from now).
    """
    if deadline is None:
        deadline = time.monotonic() + DEFAULT_TIMEOUT_S
    if info is None:
        info = probe(path, timeout_s=max(0.0, deadline - time.monotonic()))
    end = max(info.duration_s, 0.0)
    targets = sorted({min(max(float(t), 0.0), end) for t in times})
    if not targets:
        return []
    with _friendly_errors(path), _Video(path, deadline) as v:
        keyframes = v.keyframe_index(end)
        if exact is None:
            cost = _exact_cost(targets, keyframes, info.fps or 25.0)
            exact = cost <= max(EXACT_FRAMES_PER_TIME * len(targets), EXACT_PIXELS / (info.width * info.height))
        picked = v.decode_exact(targets, keyframes) if exact else v.decode_keyframes(targets, keyframes)
        return [Frame(t, _to_rgb(f, v.sar, info.rotation, max_side), bool(f.key_frame)) for t, f in picked]


# --------------------------------------------------------------------------- an open video

class _Video:
    """One open video stream: friendly errors, the deadline, timestamps in seconds from the start of the video."""

    def __init__(self, path, deadline: float):
        self.path, self.name, self.deadline = str(path), Path(path).name, deadline
        _check_file(path)
        self.container = _open(path)
        try:
            self._pick_stream()
        except BaseException:
            self.container.close()
            raise

    def _pick_stream(self) -> None:
        videos = [s for s in self.container.streams.video
                  if not s.disposition & av.stream.Disposition.attached_pic]  # cover art is not a video
        if not videos:
            kinds = sorted({s.type for s in self.container.streams})
            what = "only " + " and ".join(kinds) if kinds else "no streams"
            raise NotAVideoError(f"{self.name} has no video stream ({what}).")
        self.stream = videos[0]
        for other in self.container.streams:
            if other is not self.stream:
                other.discard = av.stream.Discard.all  # the demuxer can skip them
        if DECODER_THREADS is None:
            self.stream.codec_context.thread_type = "AUTO"
        else:
            self.stream.codec_context.thread_count = DECODER_THREADS
        self.tb = float(self.stream.time_base or 0) or 1 / 90000
        self.start = self.stream.start_time or 0  # pts of the first frame
        sar = self.stream.codec_context.sample_aspect_ratio
        self.sar = float(sar) if sar and 0.1 < float(sar) < 10 else 1.0
        rate = self.stream.guessed_rate or self.stream.average_rate
        self.step = 1 / float(rate) if rate and 0 < float(rate) <= 1000 else 0.04
        self.decoded = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.container.close()

    def check_deadline(self) -> None:
        if time.monotonic() > self.deadline:
            raise DecodeTimeoutError(f"{self.name}: decoding took longer than allowed; gave up.")

    def seconds(self, ts) -> float:
        return (ts - self.start) * self.tb

    def seek(self, t: float) -> bool:
        """Seek to the keyframe at or before `t`. If this file cannot seek, reopen it at the start: False."""
        stats.seeks += 1
        try:
            self.container.seek(self.start + int(t / self.tb), backward=True, stream=self.stream)
            return True
        except av.FFmpegError:
            self.reopen()
            return False

    def reopen(self) -> None:
        self.container.close()
        self.container = _open(self.path)
        self._pick_stream()

    def frames(self, t0: float | None = None):
        """Yield (time_s, VideoFrame) decoded from the current position; damaged packets are skipped.

        Timestamps: the frame's pts, or its dts when the pts are out of order more often (FFmpeg's "best effort"
        rule; e.g. AVI with B-frames). Frames without one, or whose time does not move forward, get the previous
        time plus one frame interval (`t0`: the time of a first frame without a timestamp).
        """
        last_t, bad = None, 0
        order = _TimestampOrder()
        packets = self.container.demux(self.stream)
        while self.decoded < MAX_FRAMES_PER_CALL:
            self.check_deadline()
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.FFmpegError:  # a truncated or garbled container: treat as the end
                return
            stats.packets_read += 1
            try:
                decoded = packet.decode()  # the final empty packet drains the decoder
            except av.FFmpegError:
                bad += 1
                if bad > MAX_BAD_PACKETS:
                    raise DecodeError(f"{self.name}: {bad} packets in a row could not be decoded; the file is "
                                      "damaged.") from None
                continue
            for frame in decoded:
                bad = 0
                self.decoded += 1
                stats.frames_decoded += 1
                ts = order.best(frame.pts, frame.dts)
                t = self.seconds(ts) if ts is not None else None
                if last_t is not None and (t is None or t <= last_t):
                    t = last_t + self.step
                elif t is None:
                    t = t0 or 0.0
                last_t = t
                yield t, frame

    def keyframe_index(self, duration_s: float) -> _Keyframes | None:
        """The container's keyframe index, if it covers the whole video (None for raw streams, GIF, ...)."""
        if len(self.stream.index_entries) == 0 and not self.seek(0.0):  # Matroska loads its cues on a seek
            return None
        index = _Keyframes(self)
        last = index.before(_FAR_FUTURE_S)
        # Formats without an index build a partial one while reading; only trust one that reaches the end.
        if last is None or last[1] < duration_s - max(30.0, 0.2 * duration_s):
            return None
        return index

    def find_end(self) -> tuple[float, float | None]:
        """Where the video really ends (seconds) and the frame rate its last packets show.

        Seeks to the last keyframe and reads the packets after it: their timestamps are the truth, whatever the
        header says. Files that cannot seek are read from the start (packets only, no decoding).
        """
        tail = self.seek(_FAR_FUTURE_S) and self._packet_times(MAX_TAIL_PACKETS)
        if not tail:
            self.reopen()
            tail = self._packet_times(MAX_SCAN_PACKETS)
        stamps = sorted(t for t, _ in tail if t is not None)
        if not stamps:  # no timestamps at all (a raw stream): count packets
            return len(tail) * self.step, None
        end = max(t + d for t, d in tail if t is not None)
        steps = [b - a for a, b in zip(stamps, stamps[1:]) if b > a]
        measured = 1 / statistics.median(steps) if len(steps) >= 2 else None
        return end, measured

    def _packet_times(self, limit: int) -> list[tuple[float | None, float]]:
        out = []
        try:
            for packet in self.container.demux(self.stream):
                self.check_deadline()
                if packet.size == 0:
                    continue
                ts = packet.pts if packet.pts is not None else packet.dts
                out.append((self.seconds(ts) if ts is not None else None, (packet.duration or 0) * self.tb))
                if len(out) >= limit:
                    break
        except av.FFmpegError:
            pass  # damaged or truncated: what was read so far is what there is
        return out

    def decode_exact(self, targets: list[float], keyframes: _Keyframes | None) -> list[tuple[float, av.VideoFrame]]:
        """The frame nearest to each target, reading forward and seeking ahead only when it saves decoding."""
        out: list[tuple[float, av.VideoFrame]] = []
        frames = None
        before = after = None  # the decoded frames either side of the current target
        for t in targets:
            position = after[0] if after else before[0] if before else 0.0
            kf = keyframes.before(t) if keyframes else None
            if kf is not None and kf[1] > position + SEEK_COST_FRAMES * self.step and self.seek(t):
                frames, before, after = self.frames(t0=kf[1]), None, None
            elif frames is None:
                frames = self.frames()
            while after is None or after[0] < t:
                nxt = next(frames, None)
                if nxt is None:
                    break
                before, after = after, nxt
            if after is not None and after[0] < t:  # the video ended before t: the last frame is nearest
                before, after = after, None
            choices = [f for f in (before, after) if f is not None]
            if choices:
                best = min(choices, key=lambda f: abs(f[0] - t))
                if not out or best[0] > out[-1][0]:
                    out.append(best)
        return out

    def decode_keyframes(self, targets: list[float], keyframes: _Keyframes | None) -> list[tuple[float, av.VideoFrame]]:
        """For each target, the keyframe at or before it: one seek and one decoded frame per target."""
        out: list[tuple[float, av.VideoFrame]] = []
        last_index = None
        for t in targets:
            if keyframes is not None:
                kf = keyframes.before(t)
                index = kf[0] if kf else -1
                if index == last_index:
                    continue  # same keyframe as the previous target: never seek back to it
                last_index = index
            if not self.seek(t):  # this file cannot seek: fall back to one forward pass
                return self.decode_exact(targets, None)
            first = self.first_frame(t)
            if first is not None and (not out or first[0] > out[-1][0]):
                out.append(first)
        return out

    def first_frame(self, t0: float) -> tuple[float, av.VideoFrame] | None:
        """The first frame after a seek, decoding as little as possible.

        A decoder holds frames back (B-frame reordering, frame threads) until more packets arrive; draining it
        after the keyframe's packet gets the keyframe out at once instead of decoding the frames after it.
        """
        cc = self.stream.codec_context
        for tried, packet in enumerate(self.container.demux(self.stream)):
            self.check_deadline()
            if tried > MAX_BAD_PACKETS:
                break
            stats.packets_read += 1
            try:
                frames = packet.decode() or cc.decode(None)
            except av.FFmpegError:
                frames = []
            cc.flush_buffers()  # leave the drained decoder ready for more packets
            if frames:
                self.decoded += 1
                stats.frames_decoded += 1
                frame = frames[0]
                ts = frame.pts if frame.pts is not None else frame.dts
                return (self.seconds(ts) if ts is not None else t0), frame
        return None


# --------------------------------------------------------------------------- helpers

class _Keyframes:
    """Lookups in the container's keyframe index (a binary search inside FFmpeg: cheap on any length of file)."""

    def __init__(self, video: _Video):
        self.video, self.entries = video, video.stream.index_entries

    def before(self, t: float) -> tuple[int, float] | None:
        """(position in the index, time) of the last keyframe at or before `t`, else the first one."""
        ts = self.video.start + int(t / self.video.tb)
        i = self.entries.search_timestamp(ts, backward=True)
        if i < 0:
            i = self.entries.search_timestamp(ts, backward=False)
        if i < 0:
            return None
        return i, self.video.seconds(self.entries[i].timestamp)


class _TimestampOrder:
    """FFmpeg's guess_correct_pts: trust pts unless they go backwards more often than dts do."""

    def __init__(self):
        self.last_pts = self.last_dts = None
        self.faulty_pts = self.faulty_dts = 0

    def best(self, pts, dts):
        if dts is not None:
            self.faulty_dts += self.last_dts is not None and dts <= self.last_dts
            self.last_dts = dts
        if pts is not None:
            self.faulty_pts += self.last_pts is not None and pts <= self.last_pts
            self.last_pts = pts
        if pts is not None and (dts is None or self.faulty_pts <= self.faulty_dts):
            return pts
        return dts


@contextmanager
def _friendly_errors(path):
    """Turn an FFmpeg error that escaped the read loops into a DecodeError naming the file."""
    try:
        yield
    except av.FFmpegError as e:
        raise DecodeError(f"{Path(path).name}: FFmpeg could not decode it ({e.strerror or e}).") from e


def _check_file(path) -> None:
    p = Path(path)
    if not p.exists():
        raise DecodeError(f"{p.name}: no such file.")
    if not p.is_file():
        raise DecodeError(f"{p.name} is not a file.")
    if p.stat().st_size == 0:
        raise NotAVideoError(f"{p.name} is empty (0 bytes).")
    if not os.access(p, os.R_OK):
        raise DecodeError(f"{p.name}: permission denied.")


def _open(path):
    """av.open with errors a person understands."""
    name = Path(path).name
    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as e:
        kind = _sniff(path)
        if kind:
            raise DecodeError(f"{name} looks like {kind} but cannot be read ({e.strerror}); it is probably "
                              "truncated or corrupt.") from None
        raise NotAVideoError(f"{name} is not a video file FFmpeg recognises ({e.strerror}).") from None


def _sniff(path) -> str | None:
    """Name of the container whose signature starts the file, if any."""
    with open(path, "rb") as f:
        head = f.read(16)
    for offset, magic, kind in _SIGNATURES:
        if head[offset:offset + len(magic)] == magic:
            return kind
    return None


def _check_size(name: str, width: int, height: int, max_pixels: int | None) -> None:
    limit = max_pixels or MAX_PIXELS
    if width * height > limit:
        raise VideoTooLargeError(
            f"{name} is {width}x{height} ({width * height / 1e6:.1f} megapixels); the limit is "
            f"{limit / 1e6:.1f} megapixels (about 8K). Pass max_pixels to allow larger videos.")


def _rotation(frame, stream) -> int:
    """Clockwise display rotation: the display matrix (frame side data), else the legacy `rotate` tag."""
    degrees = -frame.rotation  # PyAV reports the matrix counter-clockwise
    if degrees == 0:
        tags = {k.lower(): v for k, v in stream.metadata.items()}
        try:
            degrees = float(tags.get("rotate", 0))
        except ValueError:
            degrees = 0
    return int(round(degrees / 90)) % 4 * 90


def _display_size(width: int, height: int, sar: float) -> tuple[int, int]:
    return (max(1, round(width * sar)), height) if sar != 1.0 else (width, height)


def _to_rgb(frame, sar: float, rotation: int, max_side: int) -> np.ndarray:
    """Downscale to at most `max_side` (in swscale, before anything big is made), convert to RGB, rotate."""
    w, h = _display_size(frame.width, frame.height, sar)
    scale = min(1.0, max_side / max(w, h))
    w, h = max(1, round(w * scale)), max(1, round(h * scale))
    rgb = frame.reformat(width=w, height=h, format="rgb24", interpolation="AREA", threads=0,
                         src_color_range=frame.color_range or None).to_ndarray()
    if rotation:
        rgb = np.rot90(rgb, k=-rotation // 90)  # np.rot90 turns counter-clockwise for positive k
    return np.ascontiguousarray(rgb)


def _container_name(container, path) -> str:
    names = container.format.name.split(",")
    ext = Path(path).suffix.lower().lstrip(".")
    return ext if ext in names else names[0]


def _codec_name(cc) -> str:
    try:
        return cc.codec.canonical_name  # "av1" even when libdav1d decodes it
    except AttributeError:
        return cc.name


def _choose_fps(stream, measured: float | None) -> float | None:
    """The header's frame rate when the packets agree with it, else the rate measured from the packets."""
    def valid(*rates):
        return [float(r) for r in rates if r and 0 < float(r) <= 1000]

    if measured:
        for r in valid(stream.average_rate, stream.guessed_rate, stream.base_rate):
            if abs(r / measured - 1) < 0.2:
                return r
        return measured
    rates = valid(stream.guessed_rate, stream.average_rate)  # FFmpeg's own best guess first
    return rates[0] if rates else None


def _frame_count(claimed: int, duration: float, fps: float | None) -> int | None:
    """The header's frame count if it fits the verified duration, else an estimate from duration and fps."""
    estimate = max(1, round(duration * fps)) if fps else None
    if claimed and (estimate is None or abs(claimed - estimate) <= max(2, 0.05 * claimed)):
        return claimed
    return estimate


def _exact_cost(targets: list[float], keyframes: _Keyframes | None, fps: float) -> float:
    """Frames an exact forward pass would decode (seeks counted as SEEK_COST_FRAMES)."""
    if not keyframes:
        return targets[-1] * fps + 1
    cost, position = 0.0, 0.0
    for t in targets:
        kf = keyframes.before(t)
        if kf and kf[1] > position + SEEK_COST_FRAMES / fps:
            cost += SEEK_COST_FRAMES
            position = kf[1]
        cost += max(0.0, t - position) * fps + 1
        position = t
    return cost
