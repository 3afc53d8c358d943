"""Generate real test videos with PyAV: good ones of every kind, and bad input.

Every test module can use these (directly, or through the cached `video_factory` fixture in conftest.py):

    make_video(tmp_path / "a.mp4", seconds=2, content="shapes")
    make_video(tmp_path / "r.mov", rotation=90)               # display-matrix rotation
    make_video(tmp_path / "h.mkv", codec="libx265", pix_fmt="yuv420p10le")

Frames carry a *stamp*: their index written as 12 black/white blocks in the bottom eighth of the picture, so a
test can tell which frame a decoder returned (`read_stamp`). A red *marker* square sits in the top-left corner
of the stored picture, so a test can check orientation after rotation (`marker_corner`).
"""

from __future__ import annotations

import os
import struct
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints a banner on every encoder unless told otherwise

STAMP_BITS = 12
MARKER_RGB = (255, 0, 0)

# Default codec and pixel format by container (extension).
_DEFAULT_CODEC = {
    ".mp4": "libx264", ".mkv": "libx264", ".mov": "libx264", ".avi": "libx264", ".h264": "libx264",
    ".webm": "libvpx-vp9", ".gif": "gif",
}
_DEFAULT_PIX_FMT = {"gif": "rgb8"}
# Fast settings so that test videos encode in milliseconds.
_SPEED_OPTIONS = {
    "libx264": {"preset": "veryfast"},
    "libx265": {"preset": "ultrafast", "x265-params": "log-level=error"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8"},
    "libvpx": {"deadline": "realtime", "cpu-used": "8"},
    "libsvtav1": {"preset": "12"},
}


# --------------------------------------------------------------------------- frame content

def frame_times(n: int, fps: float, vfr: bool = False) -> list[float]:
    """Presentation times (seconds) of `n` frames: regular at `fps`, or irregular (VFR) around it."""
    if not vfr:
        return [i / fps for i in range(n)]
    steps = (0.5, 1.5, 1.0, 2.0)  # irregular intervals, averaging 1.25 / fps
    times, t = [], 0.0
    for i in range(n):
        times.append(round(t, 3))  # VFR videos are written with a millisecond time base
        t += steps[i % len(steps)] / fps
    return times


def _layout(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A random arrangement of sharp coloured rectangles on a mid-grey, lightly textured background."""
    img = np.full((h, w, 3), 110, np.uint8)
    img[::8, :] = 140
    img[:, ::8] = 140
    for _ in range(6):
        x0, y0 = rng.integers(0, w), rng.integers(0, h)
        x1, y1 = x0 + rng.integers(w // 10, w // 2), y0 + rng.integers(h // 10, h // 2)
        img[y0:y1, x0:x1] = rng.integers(0, 256, 3)
    return img


def _shapes(i: int, w: int, h: int) -> np.ndarray:
    """A static layout with a bright square and a dark bar moving across it (sharp edges everywhere)."""
    img = _layout(np.random.default_rng(7), w, h)
    s = max(2, min(w, h) // 5)
    x = (i * 7) % max(1, w - s)
    y = (i * 3) % max(1, h - s)
    img[y:y + s, x:x + s] = (240, 220, 40)
    bx = (w - 1 - (i * 5) % w)
    img[:, max(0, bx - 4):bx] = (20, 20, 160)
    return img


def _gradient(i: int, w: int, h: int) -> np.ndarray:
    """A smooth colour gradient drifting over time: no sharp edges at all (a 'uniformly soft' video)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 128 + 100 * np.sin((xx + 2 * i) / max(w, 1) * np.pi)
    g = 128 + 100 * np.cos((yy + i) / max(h, 1) * np.pi)
    b = 128 + 60 * np.sin((xx + yy) / max(w + h, 1) * 2 * np.pi)
    return np.stack([r, g, b], -1).clip(0, 255).astype(np.uint8)


def content_frame(content: str, i: int, n: int, w: int, h: int) -> np.ndarray:
    """RGB picture number `i` of `n` for a named kind of content.

    shapes: sharp layout with moving objects; static: frame 0 of shapes forever; cuts: a new random layout every
    frame (a scene change per frame); noise: uniform noise; gradient: smooth and soft; black: all zeros;
    static_then_cuts: static for the first half, cuts in the second half.
    """
    if content == "shapes":
        return _shapes(i, w, h)
    if content == "static":
        return _shapes(0, w, h)
    if content == "cuts":
        return _layout(np.random.default_rng(1000 + i), w, h)
    if content == "static_then_cuts":
        return content_frame("static" if i < n // 2 else "cuts", i, n, w, h)
    if content == "noise":
        return np.random.default_rng(i).integers(0, 256, (h, w, 3), dtype=np.uint8)
    if content == "gradient":
        return _gradient(i, w, h)
    if content == "black":
        return np.zeros((h, w, 3), np.uint8)
    raise ValueError(f"unknown content {content!r}")


def draw_stamp(img: np.ndarray, index: int) -> None:
    """Write `index` as STAMP_BITS black/white blocks across the bottom eighth of `img` (in place)."""
    h, w = img.shape[:2]
    band = img[h - max(2, h // 8):]
    for b in range(STAMP_BITS):
        x0, x1 = b * w // STAMP_BITS, (b + 1) * w // STAMP_BITS
        band[:, x0:x1] = 255 if (index >> b) & 1 else 0


def read_stamp(img: np.ndarray) -> int:
    """Read back the frame index written by `draw_stamp` (works on downscaled frames too)."""
    h, w = img.shape[:2]
    band = img[h - max(2, h // 8):].mean(axis=2)
    mid = band[band.shape[0] // 4: band.shape[0] * 3 // 4 + 1]
    index = 0
    for b in range(STAMP_BITS):
        x0, x1 = b * w // STAMP_BITS, (b + 1) * w // STAMP_BITS
        inner = mid[:, x0 + (x1 - x0) // 4: x1 - (x1 - x0) // 4]
        if inner.mean() > 127:
            index |= 1 << b
    return index


def draw_marker(img: np.ndarray) -> None:
    """Paint a red square in the top-left corner (in place)."""
    h, w = img.shape[:2]
    s = max(2, min(w, h) // 6)
    img[:s, :s] = MARKER_RGB


def marker_corner(img: np.ndarray) -> str:
    """Which corner ('tl', 'tr', 'bl', 'br') holds the red marker."""
    h, w = img.shape[:2]
    s = max(1, min(w, h) // 10)
    corners = {"tl": img[:s, :s], "tr": img[:s, w - s:], "bl": img[h - s:, :s], "br": img[h - s:, w - s:]}
    red = {k: float(v[..., 0].mean() - (v[..., 1].mean() + v[..., 2].mean()) / 2) for k, v in corners.items()}
    return max(red, key=red.get)


def _in_spans(t: float, spans) -> bool:
    return any(a <= t < b for a, b in spans)


# --------------------------------------------------------------------------- writing videos

def make_video(
    path,
    *,
    seconds: float = 2.0,
    fps: float = 24,
    size: tuple[int, int] = (320, 240),
    codec: str | None = None,
    pix_fmt: str | None = None,
    gop: int | None = None,
    content: str = "shapes",
    rotation: int = 0,
    rotation_as: str = "matrix",
    vfr: bool = False,
    black_spans=(),
    blur_spans=(),
    frames: int | None = None,
    audio: bool = False,
    stamp: bool = True,
    marker: bool = True,
    options: dict | None = None,
) -> Path:
    """Encode a test video and return its path.

    size is (width, height). The container comes from the extension (.mp4 .mkv .webm .mov .avi .gif, or .h264 for
    a raw stream without timestamps); codec defaults per container (libx264; libvpx-vp9 for .webm; gif for .gif).
    gop: fixed keyframe interval in frames (no scene-cut keyframes). rotation: clockwise degrees a player must turn
    the stored picture to show it (the convention of `VideoInfo.rotation`), written as a display matrix
    (rotation_as="matrix") or as the legacy `rotate` tag (rotation_as="tag"). vfr: irregular frame intervals.
    black_spans / blur_spans: (start_s, end_s) ranges drawn black, or Gaussian-blurred. frames: exact frame count
    (overrides seconds). audio: add an AAC/Opus sine track. options: extra encoder options.
    """
    path = Path(path)
    ext = path.suffix.lower()
    codec = codec or _DEFAULT_CODEC.get(ext, "libx264")
    pix_fmt = pix_fmt or _DEFAULT_PIX_FMT.get(codec, "yuv420p")
    w, h = size
    n = frames if frames is not None else max(1, round(seconds * fps))
    times = frame_times(n, fps, vfr)

    container = av.open(str(path), "w")
    try:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        opts = dict(_SPEED_OPTIONS.get(codec, {}))
        if gop:
            stream.codec_context.gop_size = gop
            if codec == "libx264":
                opts["x264-params"] = f"keyint={gop}:min-keyint={gop}:scenecut=0"
            elif codec == "libx265":
                opts["x265-params"] = f"keyint={gop}:min-keyint={gop}:scenecut=0:log-level=error"
        opts.update(options or {})
        stream.codec_context.options = opts
        time_base = Fraction(1, 1000) if vfr else Fraction(1, 100) if codec == "gif" else None
        if time_base:
            stream.codec_context.time_base = time_base
        if rotation % 360:
            if rotation_as == "matrix":
                stream.set_display_rotation(-rotation)  # PyAV takes counter-clockwise degrees
            else:
                stream.metadata["rotate"] = str(rotation % 360)
        audio_stream = _add_audio(container, ext) if audio else None

        for i, t in enumerate(times):
            if content == "black" or _in_spans(t, black_spans):
                img = np.zeros((h, w, 3), np.uint8)
            else:
                img = content_frame(content, i, n, w, h).copy()
                if marker:
                    draw_marker(img)
                if stamp:
                    draw_stamp(img, i)
                if _in_spans(t, blur_spans):
                    img = cv2.GaussianBlur(img, (0, 0), 6)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            if time_base:
                frame.pts, frame.time_base = round(t / time_base), time_base
            else:
                frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
        if audio_stream is not None:
            _write_sine(container, audio_stream, times[-1] + 1 / fps)
    finally:
        container.close()
    return path


def _add_audio(container, ext: str):
    codec = "libopus" if ext in (".webm", ".ogg", ".opus") else "aac"
    return container.add_stream(codec, rate=48000)


def _write_sine(container, stream, seconds: float) -> None:
    rate, chunk = stream.codec_context.sample_rate, 960
    layout = "stereo" if stream.codec_context.layout.nb_channels == 2 else "mono"
    channels = 2 if layout == "stereo" else 1
    fmt = stream.codec_context.format.name
    pts = 0
    while pts < seconds * rate:
        t = (np.arange(chunk) + pts) / rate
        wave = 0.2 * np.sin(2 * np.pi * 440 * t)
        base = fmt.rstrip("p")
        wave = (wave * 32767).astype(np.int16) if base == "s16" else wave.astype(np.float32)
        if fmt.endswith("p"):  # planar: one row per channel
            data = np.tile(wave, (channels, 1))
        else:
            data = np.repeat(wave, channels)[None, :]
        frame = av.AudioFrame.from_ndarray(data, format=fmt, layout=layout)
        frame.sample_rate, frame.pts = rate, pts
        container.mux(stream.encode(frame))
        pts += chunk
    container.mux(stream.encode())


def make_audio_only(path, seconds: float = 1.0) -> Path:
    """An audio-only file: AAC in .m4a/.mp4/.mkv, Opus in .ogg/.webm/.opus."""
    path = Path(path)
    container = av.open(str(path), "w")
    try:
        stream = _add_audio(container, path.suffix.lower())
        _write_sine(container, stream, seconds)
    finally:
        container.close()
    return path


# --------------------------------------------------------------------------- bad input

def make_zero_byte(path) -> Path:
    """An empty file."""
    path = Path(path)
    path.write_bytes(b"")
    return path


def make_random_bytes(path, n: int = 64 * 1024, seed: int = 0) -> Path:
    """A file of random bytes (not a media file at all)."""
    path = Path(path)
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes())
    return path


def make_truncated(src, dst, keep: float = 0.5) -> Path:
    """A copy of `src` cut after `keep` of its bytes (an interrupted download)."""
    data = Path(src).read_bytes()
    dst = Path(dst)
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst


def make_corrupt(src, dst, start: float = 0.3, end: float = 0.7, seed: int = 0) -> Path:
    """A copy of `src` whose bytes between the fractions `start` and `end` are overwritten with noise."""
    data = bytearray(Path(src).read_bytes())
    a, b = int(len(data) * start), int(len(data) * end)
    data[a:b] = np.random.default_rng(seed).integers(0, 256, b - a, dtype=np.uint8).tobytes()
    dst = Path(dst)
    dst.write_bytes(bytes(data))
    return dst


# --------------------------------------------------------------------------- metadata that lies

def _scale_field(data: bytearray, offset: int, wide: bool, factor: float, endian: str = ">") -> None:
    fmt = endian + ("Q" if wide else "I")
    n = struct.calcsize(fmt)
    value = struct.unpack(fmt, data[offset:offset + n])[0]
    struct.pack_into(fmt, data, offset, min(int(value * factor), 2 ** (8 * n) - 1))


def patch_mkv_duration(src, dst, seconds: float) -> Path:
    """Copy a Matroska/WebM file and make its Segment Info claim `seconds` (Duration element, ID 0x4489)."""
    data = bytearray(Path(src).read_bytes())
    head = bytes(data[:4096])
    scale = 1_000_000  # TimestampScale default: 1 ms
    ts = head.find(b"\x2a\xd7\xb1")
    if ts >= 0:
        size = head[ts + 3] & 0x7F
        scale = int.from_bytes(head[ts + 4:ts + 4 + size], "big")
    pos = head.find(b"\x44\x89\x88")
    if pos >= 0:
        struct.pack_into(">d", data, pos + 3, seconds * 1e9 / scale)
    else:
        pos = head.find(b"\x44\x89\x84")
        if pos < 0:
            raise ValueError("no Duration element found")
        struct.pack_into(">f", data, pos + 3, seconds * 1e9 / scale)
    dst = Path(dst)
    dst.write_bytes(bytes(data))
    return dst


def patch_avi_frame_count(src, dst, factor: float) -> Path:
    """Copy an AVI and multiply the frame counts in its headers (avih, strh, dmlh) by `factor`."""
    data = bytearray(Path(src).read_bytes())
    for tag, offset in ((b"avih", 16), (b"strh", 32), (b"dmlh", 0)):
        pos = data.find(tag, 0, 8192)
        if pos >= 0:
            _scale_field(data, pos + 8 + offset, False, factor, endian="<")
    dst = Path(dst)
    dst.write_bytes(bytes(data))
    return dst


# --------------------------------------------------------------------------- cache

class VideoFactory:
    """Make test videos on demand and cache them for a whole pytest session (see conftest.video_factory).

    factory(ext=".mp4", **make_video_kwargs) -> Path of a generated video; the same arguments give the same file.
    factory.special(kind) -> Path of a ready-made odd or bad input, one of SPECIAL_KINDS.
    """

    SPECIAL_KINDS = (
        "zero_byte", "random_bytes", "audio_only", "truncated", "truncated_mkv", "corrupt", "single_frame",
        "rotated", "vfr", "10bit", "8k", "odd_size", "gif", "raw_h264", "claims_longer_mkv",
        "claims_shorter_mkv", "claims_more_frames_avi",
    )

    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._cache: dict[str, Path] = {}

    def __call__(self, ext: str = ".mp4", **kwargs) -> Path:
        key = ext + repr(sorted(kwargs.items()))
        if key not in self._cache:
            self._cache[key] = make_video(self.directory / f"v{len(self._cache):03d}{ext}", **kwargs)
        return self._cache[key]

    def special(self, kind: str) -> Path:
        key = "special:" + kind
        if key not in self._cache:
            self._cache[key] = self._make_special(kind, self.directory / f"s_{kind}")
        return self._cache[key]

    def _make_special(self, kind: str, base: Path) -> Path:
        if kind == "zero_byte":
            return make_zero_byte(base.with_suffix(".mp4"))
        if kind == "random_bytes":
            return make_random_bytes(base.with_suffix(".mp4"))
        if kind == "audio_only":
            return make_audio_only(base.with_suffix(".m4a"))
        if kind == "truncated":  # MP4 with its index (moov) at the end: cut, it has no index at all
            return make_truncated(self(".mp4", seconds=2), base.with_suffix(".mp4"), keep=0.5)
        if kind == "truncated_mkv":  # Matroska cut halfway: the first half still plays
            return make_truncated(self(".mkv", seconds=4), base.with_suffix(".mkv"), keep=0.5)
        if kind == "corrupt":
            return make_corrupt(self(".mkv", seconds=2), base.with_suffix(".mkv"))
        if kind == "single_frame":
            return make_video(base.with_suffix(".mp4"), frames=1)
        if kind == "rotated":
            return make_video(base.with_suffix(".mp4"), rotation=90, seconds=1)
        if kind == "vfr":
            return make_video(base.with_suffix(".mp4"), vfr=True, seconds=2, fps=24)
        if kind == "10bit":
            return make_video(base.with_suffix(".mkv"), codec="libx265", pix_fmt="yuv420p10le", seconds=1)
        if kind == "8k":
            return make_video(base.with_suffix(".mp4"), size=(7680, 4320), frames=1, content="static",
                              options={"preset": "ultrafast"})
        if kind == "odd_size":
            return make_video(base.with_suffix(".mkv"), size=(321, 241), seconds=1, pix_fmt="yuv444p")
        if kind == "gif":
            return make_video(base.with_suffix(".gif"), seconds=1, fps=10, size=(160, 120))
        if kind == "raw_h264":
            return make_video(base.with_suffix(".h264"), seconds=1)
        if kind == "claims_longer_mkv":
            return patch_mkv_duration(self(".mkv", seconds=2), base.with_suffix(".mkv"), 120.0)
        if kind == "claims_shorter_mkv":
            return patch_mkv_duration(self(".mkv", seconds=4), base.with_suffix(".mkv"), 0.5)
        if kind == "claims_more_frames_avi":
            return patch_avi_frame_count(self(".avi", seconds=2), base.with_suffix(".avi"), 10)
        raise ValueError(f"unknown special video {kind!r}; one of {self.SPECIAL_KINDS}")
