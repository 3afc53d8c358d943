"""A small synthetic labelled dataset: four visually distinct kinds of clip, for smoke tests and demos.

    root = make_dataset("/tmp/synth", per_class=8)                  # /tmp/synth/animation/a000.mp4 ...
    manifest = make_dataset("/tmp/synth", per_class=8, manifest=True, gif_share=0.25)
    # -> /tmp/synth/manifest.csv with path,label,group,source_format (some clips are GIFs)

The kinds only caricature the real classes (a classifier trained on them says nothing about real videos):
animation — flat pastel background, outlined flat-colour shapes moving; gaming — dark scrolling grid with a
HUD (health bar, minimap, crosshair); natural — smooth random texture panning with film grain; flat — a light
slide with lines of dark "text" that changes once. Every clip draws its own colours, positions and speeds from
its seed, so held-out clips are new pictures, not copies.
"""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

KINDS = ("animation", "gaming", "natural", "flat")


def _animation(rng, n, w, h):
    bg = rng.integers(170, 250, 3)
    shapes = [(rng.uniform(0, w), rng.uniform(0, h), rng.uniform(-3, 3), rng.uniform(-2, 2),
               int(rng.integers(h // 8, h // 3)), rng.integers(0, 256, 3), bool(rng.random() < 0.5))
              for _ in range(int(rng.integers(3, 6)))]
    for i in range(n):
        img = np.empty((h, w, 3), np.uint8)
        img[:] = bg
        for x, y, dx, dy, r, col, circle in shapes:
            c = (int((x + dx * i) % w), int((y + dy * i) % h))
            if circle:
                cv2.circle(img, c, r, col.tolist(), -1)
                cv2.circle(img, c, r, (0, 0, 0), 2)
            else:
                cv2.rectangle(img, (c[0] - r, c[1] - r), (c[0] + r, c[1] + r), col.tolist(), -1)
                cv2.rectangle(img, (c[0] - r, c[1] - r), (c[0] + r, c[1] + r), (0, 0, 0), 2)
        yield img


def _gaming(rng, n, w, h):
    base = rng.integers(10, 60, 3)
    line = rng.integers(60, 200, 3).tolist()
    step, speed = int(rng.integers(6, 14)), rng.uniform(1, 4)
    hud = rng.integers(0, 256, 3).tolist()
    for i in range(n):
        img = np.empty((h, w, 3), np.uint8)
        img[:] = base
        off = int(i * speed) % step
        for x in range(-off, w, step):
            cv2.line(img, (x, 0), (x, h), line, 1)
        for y in range(-off, h, step):
            cv2.line(img, (0, y), (w, y), line, 1)
        health = int(w * 0.3 * (1 - 0.5 * i / max(n - 1, 1)))
        cv2.rectangle(img, (3, 3), (3 + int(w * 0.3), 8), (40, 40, 40), -1)
        cv2.rectangle(img, (3, 3), (3 + health, 8), hud, -1)
        m = h // 4
        cv2.rectangle(img, (w - m - 3, 3), (w - 3, m + 3), (30, 90, 30), -1)
        cv2.rectangle(img, (w - m - 3, 3), (w - 3, m + 3), (255, 255, 255), 1)
        cx, cy = w // 2, h // 2
        cv2.line(img, (cx - 4, cy), (cx + 4, cy), (255, 255, 255), 1)
        cv2.line(img, (cx, cy - 4), (cx, cy + 4), (255, 255, 255), 1)
        yield img


def _natural(rng, n, w, h):
    big = cv2.resize(rng.random((h // 6 + 2, (w + n * 2) // 6 + 2, 3)).astype(np.float32), ((w + n * 2), h),
                     interpolation=cv2.INTER_CUBIC)
    tint = rng.uniform(0.4, 1.0, 3)
    big = cv2.GaussianBlur(big, (0, 0), 3) * tint * 255
    for i in range(n):
        frame = big[:, 2 * i:2 * i + w] + rng.normal(0, 6, (h, w, 3))
        yield np.clip(frame, 0, 255).astype(np.uint8)


def _flat(rng, n, w, h):
    slides = []
    for _ in range(2):
        img = np.empty((h, w, 3), np.uint8)
        img[:] = rng.integers(225, 256, 3)
        ink = rng.integers(0, 80, 3).tolist()
        y = int(rng.integers(6, 12))
        while y < h - 6:
            x = int(rng.integers(4, 10))
            while x < w - 10:
                word = int(rng.integers(4, 14))
                cv2.rectangle(img, (x, y), (min(w - 4, x + word), y + 3), ink, -1)
                x += word + 4
            y += int(rng.integers(8, 12))
        slides.append(img)
    for i in range(n):
        yield slides[0] if i < n // 2 else slides[1]


_GENERATORS = {"animation": _animation, "gaming": _gaming, "natural": _natural, "flat": _flat}


def write_clip(path: str | Path, frames, fps: float = 12) -> Path:
    """Encode RGB frames (all the same size; a list or an iterator, streamed) as H.264 (.mp4/.mkv/...) or a
    palette GIF (.gif) with PyAV."""
    import itertools

    import av

    path = Path(path)
    frames = iter(frames)
    first = next(frames)
    h, w = first.shape[:2]
    gif = path.suffix.lower() == ".gif"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("gif" if gif else "libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height = w, h
        stream.pix_fmt = "rgb8" if gif else "yuv420p"
        if gif:
            stream.codec_context.time_base = Fraction(1, 100)
        else:
            stream.codec_context.options = {"preset": "veryfast"}
            stream.codec_context.thread_count = 1  # one thread: the same frames give the same bytes
        for i, img in enumerate(itertools.chain([first], frames)):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            if gif:
                frame.pts, frame.time_base = round(i * 100 / fps), Fraction(1, 100)
            else:
                frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def make_clip(path: str | Path, kind: str, seed: int, *, size: tuple[int, int] = (96, 64), seconds: float = 2.0,
              fps: float = 12) -> Path:
    """One synthetic clip of `kind` (one of KINDS); `size` is (width, height), even numbers for H.264."""
    w, h = size
    rng = np.random.default_rng(seed)
    return write_clip(path, _GENERATORS[kind](rng, max(2, round(seconds * fps)), w, h), fps)


def make_dataset(root: str | Path, per_class: int = 8, *, seed: int = 0, size: tuple[int, int] = (96, 64),
                 seconds: float = 2.0, fps: float = 12, manifest: bool = False, gif_share: float = 0.0) -> Path:
    """Write `per_class` clips of each kind under `root/<kind>/`; return `root`, or the manifest when asked.

    gif_share: the share of clips written as GIFs. The manifest (root/manifest.csv) lists path,label,group,
    source_format (gif or video); every clip is its own group.
    """
    root = Path(root)
    rows = []
    for k, kind in enumerate(KINDS):
        (root / kind).mkdir(parents=True, exist_ok=True)
        n_gif = round(per_class * gif_share)
        for i in range(per_class):
            ext = ".gif" if i < n_gif else ".mp4"
            rel = f"{kind}/{kind[0]}{i:03d}{ext}"
            make_clip(root / rel, kind, seed * 100_003 + k * 1009 + i, size=size, seconds=seconds, fps=fps)
            rows.append({"path": rel, "label": kind, "group": rel, "source_format": "gif" if ext == ".gif" else "video"})
    if not manifest:
        return root
    path = root / "manifest.csv"
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["path", "label", "group", "source_format"])
        w.writeheader()
        w.writerows(rows)
    return path


TINY_BACKBONE = "tiny_test"


def register_tiny_backbone(name: str = TINY_BACKBONE) -> str:
    """Register a tiny, untrained, fixed-random CNN backbone (32x32 input, 46 features) and return its name.

    It is fast enough for end-to-end tests on the CPU and tells the synthetic kinds apart; it knows nothing
    about real videos. Registering twice is harmless.
    """
    import torch
    import torch.nn as nn

    from .. import backbones

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 20, 5, stride=2)
            g = torch.Generator().manual_seed(0)
            with torch.no_grad():
                self.conv.weight.copy_(torch.randn(self.conv.weight.shape, generator=g) * 0.2)
                self.conv.bias.zero_()

        def forward(self, x):
            h = torch.relu(self.conv(x))
            return torch.cat([h.mean((2, 3)), h.amax((2, 3)), x.mean((2, 3)), x.std((2, 3))], 1)

    if name not in backbones.available():
        backbones.register(backbones.BackboneInfo(name, 32, 46, "random (tests only)"), lambda weights=None: Tiny())
    return name
