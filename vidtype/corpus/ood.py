"""Generated out-of-distribution clips: an offline recipe for video that is none of the four classes.

    vidtype corpus ood runs/ood-generated --n 60
    manifest = make_ood_set("runs/ood-generated", n=60, seed=0)   # -> runs/ood-generated/manifest.csv

Anything fitted on out-of-distribution data (which trust scores to combine, and their weights) is fitted on
these clips, never on the real out-of-distribution footage, which is kept for measuring. The kinds caricature
what a deployed classifier meets besides its classes:

  noise        uniform colour or grey noise, smooth or blocky animated noise fields, sparse dots
  test_card    testsrc-like colour cells with a counter, circle test cards, zone plates, checkerboards
  colour_bars  SMPTE and EBU bars, sometimes with an ident or a little analogue jitter
  blank        solid colours, near-black with faint noise, slow fades, a lone moving dot
  ultrasound   a greyscale fan of speckle with pulsing dark chambers, depth ticks, an ECG trace
  mri          greyscale slice sweeps through an elliptic organ with inner structures
  thermal      smooth warm blobs on a cool gradient in false-colour palettes (jet, inferno, ...), often low-res
  microscopy   bright-field cells with rims and halos, fluorescent nuclei on black, noisy dark-field particles
  corrupted    a moving scene made blocky, heavily quantised or glitched (row shifts, channel splits, smears)

Clip `i` of kind KINDS[i % 9] draws everything from (seed, i): the same arguments write the same bytes, so the
feature cache recognises them on a rerun.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

KINDS = ("noise", "test_card", "colour_bars", "blank", "ultrasound", "mri", "thermal", "microscopy", "corrupted")
RECIPE_VERSION = 1  # bump when what a (kind, seed) draws changes


# ---- helpers ---------------------------------------------------------------------------------------------------

def _smooth_field(rng, h: int, w: int, scale: int, channels: int = 1) -> np.ndarray:
    """Random values on a coarse grid, bicubically enlarged to (h, w[, channels]): float32 roughly in 0..1."""
    small = rng.random((max(2, h // scale + 2), max(2, w // scale + 2), channels)).astype(np.float32)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return big.reshape(h, w, channels) if channels > 1 else big.reshape(h, w)


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0, 255).astype(np.uint8)


def _grey(x: np.ndarray) -> np.ndarray:
    return np.repeat(_to_uint8(x)[..., None], 3, axis=2)


def _text(img: np.ndarray, text: str, org, scale: float, colour, thickness: int = 1) -> None:
    cv2.putText(img, text, (int(org[0]), int(org[1])), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness,
                cv2.LINE_AA)


# ---- the kinds -------------------------------------------------------------------------------------------------

def _noise(rng, n, w, h):
    variant = int(rng.integers(4))
    if variant == 0:  # uniform noise, colour or grey, a new field every frame
        colour = bool(rng.random() < 0.5)
        for _ in range(n):
            img = rng.integers(0, 256, (h, w, 3 if colour else 1), dtype=np.uint8)
            yield img if colour else np.repeat(img, 3, axis=2)
    elif variant == 1:  # animated value noise: drift from one smooth field to the next
        scale = int(rng.integers(4, 24))
        colour = bool(rng.random() < 0.4)
        nearest = bool(rng.random() < 0.4)
        ch = 3 if colour else 1
        fields = [rng.random((h // scale + 2, w // scale + 2, ch)).astype(np.float32) for _ in range(4)]
        for i in range(n):
            t = i / max(n - 1, 1) * 3
            k = min(int(t), 2)
            a = fields[k] * (1 - (t - k)) + fields[k + 1] * (t - k)
            big = cv2.resize(a, (w, h), interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_CUBIC)
            big = big.reshape(h, w, ch)
            yield _to_uint8(np.repeat(big, 3 // ch, axis=2) * 255)
    elif variant == 2:  # grey noise with a temporal correlation (TV snow)
        prev = rng.random((h, w)).astype(np.float32)
        for _ in range(n):
            prev = 0.5 * prev + 0.5 * rng.random((h, w)).astype(np.float32)
            yield _grey(prev * 255)
    else:  # sparse coloured dots on black
        density = rng.uniform(0.01, 0.08)
        for _ in range(n):
            img = np.zeros((h, w, 3), np.uint8)
            on = rng.random((h, w)) < density
            img[on] = rng.integers(80, 256, (int(on.sum()), 3), dtype=np.uint8)
            yield img


def _test_card(rng, n, w, h):
    variant = int(rng.integers(4))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if variant == 0:  # testsrc-like: hue cells, a sliding gradient band, a frame counter
        cells = int(rng.integers(6, 12))
        hue = ((xx // (w / cells) + yy // (h / (cells * 0.75))) * 23 % 180).astype(np.uint8)
        base = cv2.cvtColor(np.stack([hue, np.full_like(hue, 200), np.full_like(hue, 220)], -1), cv2.COLOR_HSV2RGB)
        for i in range(n):
            img = base.copy()
            x0 = int(i * w / max(n, 1) * 2) % w
            band = (np.linspace(0, 255, w // 6 + 1)[None, :, None] * np.ones((h // 8, 1, 3))).astype(np.uint8)
            x1 = min(w, x0 + band.shape[1])
            img[h // 2:h // 2 + band.shape[0], x0:x1] = band[:, :x1 - x0]
            _text(img, f"{i:03d}", (w * 0.35, h * 0.4), h / 90, (255, 255, 255), max(1, h // 60))
            yield img
    elif variant == 1:  # circle test card: grid, circle, bars and a grey step strip, a turning hand
        img = np.full((h, w, 3), 110, np.uint8)
        step = int(rng.integers(max(4, h // 12), max(6, h // 6)))
        img[::step, :] = 235
        img[:, ::step] = 235
        c, r = (w // 2, h // 2), int(h * 0.42)
        cv2.circle(img, c, r, (235, 235, 235), max(1, h // 80))
        colours = [(191, 191, 191), (191, 191, 0), (0, 191, 191), (0, 191, 0), (191, 0, 191), (191, 0, 0), (0, 0, 191)]
        bw = 2 * r // len(colours)
        for k, col in enumerate(colours):
            img[c[1] - h // 10:c[1], c[0] - r + k * bw:c[0] - r + (k + 1) * bw] = col
        for k in range(6):
            img[c[1]:c[1] + h // 12, c[0] - r + k * (2 * r // 6):c[0] - r + (k + 1) * (2 * r // 6)] = k * 51
        for i in range(n):
            frame = img.copy()
            a = 2 * np.pi * i / max(n, 1)
            cv2.line(frame, c, (int(c[0] + 0.3 * r * np.sin(a)), int(c[1] - 0.3 * r * np.cos(a))), (20, 20, 20), 2)
            yield frame
    elif variant == 2:  # zone plate: concentric rings of rising frequency, phase moving
        k = rng.uniform(0.5, 2.0) * np.pi / max(w, h)
        r2 = (xx - w / 2) ** 2 + (yy - h / 2) ** 2
        for i in range(n):
            yield _grey(127.5 + 127.5 * np.cos(k * r2 + i * 0.4))
    else:  # drifting checkerboard, sometimes coloured
        s = int(rng.integers(max(3, h // 20), max(5, h // 5)))
        a, b = (rng.integers(0, 256, 3) if rng.random() < 0.4 else np.array([255] * 3)), np.zeros(3)
        for i in range(n):
            board = (((xx + i) // s + (yy + i // 2) // s) % 2)[..., None]
            yield _to_uint8(board * a + (1 - board) * b)


def _colour_bars(rng, n, w, h):
    level = 191 if rng.random() < 0.6 else 255
    bars = np.array([[1, 1, 1], [1, 1, 0], [0, 1, 1], [0, 1, 0], [1, 0, 1], [1, 0, 0], [0, 0, 1]]) * level
    img = np.zeros((h, w, 3), np.uint8)
    edges = np.linspace(0, w, len(bars) + 1).astype(int)
    smpte = rng.random() < 0.6
    top = int(h * 0.67) if smpte else h
    for k, col in enumerate(bars):
        img[:top, edges[k]:edges[k + 1]] = col
    if smpte:  # reverse-blue strip, then -I / white / +Q / black / pluge
        for k, col in enumerate(bars[::-1]):
            img[top:int(h * 0.75), edges[k]:edges[k + 1]] = col if k % 2 == 0 else 0
        low = [(0, 33, 76), (255, 255, 255), (50, 0, 106), (19, 19, 19), (9, 9, 9), (19, 19, 19), (29, 29, 29)]
        for k, col in enumerate(low):
            img[int(h * 0.75):, edges[k]:edges[k + 1]] = col
    ident = rng.random() < 0.4
    jitter = rng.random() < 0.4
    for i in range(n):
        frame = img.copy()
        if ident:
            _text(frame, "TEST", (w * 0.4, h * 0.35), h / 120, (255, 255, 255), max(1, h // 80))
        if jitter:  # analogue wobble: each row shifted a little, plus grain
            shift = (2 * np.sin(np.arange(h) / 7 + i)).astype(int)
            frame = np.stack([np.roll(row, s, axis=0) for row, s in zip(frame, shift)])
            frame = _to_uint8(frame + rng.normal(0, 6, frame.shape))
        yield frame


def _blank(rng, n, w, h):
    variant = int(rng.integers(5))
    colour = rng.choice([[0, 0, 0], [255, 255, 255], [128, 128, 128], [0, 0, 200], [0, 160, 0], [16, 16, 16]])
    colour = np.array(colour, np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for i in range(n):
        if variant == 0:  # a solid colour
            yield _to_uint8(np.broadcast_to(colour, (h, w, 3)))
        elif variant == 1:  # near-black with faint noise
            yield _to_uint8(rng.uniform(0, 8) + rng.normal(0, 2, (h, w, 1)).repeat(3, 2))
        elif variant == 2:  # a slow fade between two close greys
            v = 40 + 30 * i / max(n - 1, 1)
            yield _to_uint8(np.full((h, w, 3), v))
        elif variant == 3:  # a faint vignette
            r = np.sqrt((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / max(w, h)
            yield _to_uint8((colour * 0.6 + 30)[None, None, :] * (1 - 0.5 * r[..., None]))
        else:  # a lone dot crossing an empty screen
            img = np.zeros((h, w, 3), np.uint8)
            cv2.circle(img, (int(w * i / max(n, 1)), h // 2), max(1, h // 40), (200, 200, 200), -1)
            yield img


def _ultrasound(rng, n, w, h):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    apex = (w / 2 + rng.uniform(-0.05, 0.05) * w, h * rng.uniform(0.0, 0.08))
    r = np.sqrt((xx - apex[0]) ** 2 + (yy - apex[1]) ** 2)
    theta = np.arctan2(xx - apex[0], yy - apex[1])
    span, depth = np.deg2rad(rng.uniform(30, 45)), h * rng.uniform(0.8, 0.95)
    fan = (np.abs(theta) < span) & (r < depth)
    tissue = 0.35 + 0.6 * _smooth_field(rng, h, w, int(rng.integers(8, 20)))
    bands = [(rng.uniform(0.2, 0.8) * depth, rng.uniform(-0.5, 0.5)) for _ in range(int(rng.integers(1, 4)))]
    chambers = [(rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h, rng.uniform(0.06, 0.15) * h)
                for _ in range(int(rng.integers(1, 3)))]
    persistent = rng.rayleigh(0.6, (h, w)).astype(np.float32)
    ecg = rng.random() < 0.6
    tint = np.array([1.0, 1.0, 1.0]) if rng.random() < 0.7 else np.array([1.0, 0.9, 0.75])
    for i in range(n):
        beat = 0.5 + 0.5 * np.sin(2 * np.pi * i / max(6, n / 3))
        intensity = tissue.copy()
        for radius, tilt in bands:  # bright curved specular walls
            intensity += 0.8 * np.exp(-((r - radius - tilt * (xx - apex[0])) ** 2) / (2 * (h * 0.01) ** 2))
        for cx, cy, cr in chambers:  # dark chambers that pulse
            inside = ((xx - cx) ** 2 + (yy - cy) ** 2) < (cr * (0.8 + 0.3 * beat)) ** 2
            intensity[inside] *= 0.08
        speckle = 0.6 * persistent + 0.4 * rng.rayleigh(0.6, (h, w)).astype(np.float32)
        value = intensity * speckle * np.exp(-r / (1.5 * depth)) * 170 * fan
        img = _to_uint8(value[..., None] * tint)
        for k in range(1, 6):  # depth ticks
            y = int(apex[1] + k * depth / 6)
            if y < h:
                img[y, w - max(3, w // 40):w - 1] = 200
        if ecg:
            ys = (h * 0.93 - h * 0.04 * np.sin(np.arange(w) / 6) - h * 0.05 * (np.arange(w) % 40 == 20)).astype(int)
            img[np.clip(ys, 0, h - 1), np.arange(w)] = (40, 220, 40)
            img[int(h * 0.88):, int(w * i / max(n, 1)) % w] = (220, 220, 40)
        yield img


def _mri(rng, n, w, h):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = w / 2 + rng.uniform(-0.05, 0.05) * w, h / 2 + rng.uniform(-0.05, 0.05) * h
    ax, ay = rng.uniform(0.25, 0.4) * w, rng.uniform(0.35, 0.45) * h
    texture = 0.6 + 0.4 * _smooth_field(rng, h, w, int(rng.integers(4, 10)))
    inner = [(rng.uniform(-0.4, 0.4), rng.uniform(-0.4, 0.4), rng.uniform(0.08, 0.25), rng.uniform(0.05, 1.4))
             for _ in range(int(rng.integers(2, 6)))]
    skull = rng.random() < 0.6
    for i in range(n):
        z = -0.8 + 1.6 * i / max(n - 1, 1)  # the slice position sweeps through the organ
        s = np.sqrt(max(1 - z * z, 0.05))
        d = ((xx - cx) / (ax * s)) ** 2 + ((yy - cy) / (ay * s)) ** 2
        value = np.where(d < 1, 130 * texture, 0.0)
        if skull:
            value = np.where((d >= 0.85) & (d < 1), 230, value)
        for ox, oy, rr, gain in inner:
            rr_z = rr * np.sqrt(max(1 - (z - ox) ** 2, 0.0))
            blob = ((xx - cx - ox * ax * s) / (ax * s)) ** 2 + ((yy - cy - oy * ay * s) / (ay * s)) ** 2 < rr_z ** 2
            value = np.where(blob & (d < 0.85), value * gain, value)
        value = np.abs(value + rng.normal(0, 6, (h, w)) + 1j * rng.normal(0, 6, (h, w)))  # Rician noise
        yield _grey(value)


_PALETTES = (cv2.COLORMAP_JET, cv2.COLORMAP_INFERNO, cv2.COLORMAP_HOT, cv2.COLORMAP_PLASMA, cv2.COLORMAP_RAINBOW,
             cv2.COLORMAP_TURBO, cv2.COLORMAP_MAGMA, cv2.COLORMAP_BONE)


def _thermal(rng, n, w, h):
    lowres = rng.random() < 0.6
    sw, sh = (32, 24) if lowres else (w // 2, h // 2)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    palette = _PALETTES[int(rng.integers(len(_PALETTES)))]
    gradient = rng.uniform(0.1, 0.3) + rng.uniform(-0.1, 0.1) * (xx / sw) + rng.uniform(-0.1, 0.1) * (yy / sh)
    blobs = [(rng.uniform(0, sw), rng.uniform(0, sh), rng.uniform(-0.5, 0.5) * sw / 32,  # x, y, dx, dy, size, heat
              rng.uniform(-0.3, 0.3) * sh / 24, rng.uniform(0.06, 0.25) * sw, rng.uniform(0.4, 0.8))
             for _ in range(int(rng.integers(1, 5)))]
    scale_bar = rng.random() < 0.5
    enlarge = cv2.INTER_NEAREST if lowres and rng.random() < 0.5 else cv2.INTER_CUBIC
    for i in range(n):
        field = gradient + rng.normal(0, 0.01, (sh, sw))
        for x, y, dx, dy, s, heat in blobs:
            bx, by = x + dx * i, y + dy * i + 0.1 * s * np.sin(i / 3)
            field = field + heat * np.exp(-((xx - bx) ** 2 + ((yy - by) * 0.7) ** 2) / (2 * s * s))
        grey = _to_uint8(255 * (field - field.min()) / max(float(np.ptp(field)), 1e-6))
        rgb = cv2.cvtColor(cv2.applyColorMap(grey, palette), cv2.COLOR_BGR2RGB)
        img = cv2.resize(rgb, (w, h), interpolation=enlarge)
        if scale_bar:
            ramp = np.linspace(255, 0, h).astype(np.uint8)[:, None].repeat(max(3, w // 30), 1)
            img[:, -ramp.shape[1]:] = cv2.cvtColor(cv2.applyColorMap(ramp, palette), cv2.COLOR_BGR2RGB)
        yield img


def _microscopy(rng, n, w, h):
    variant = int(rng.integers(3))
    count = int(rng.integers(8, 40))
    pos = rng.uniform(0, 1, (count, 2)) * (w, h)
    size = rng.uniform(0.02, 0.07, count) * min(w, h) + 1
    step = rng.uniform(0.2, 1.0)
    light = 0.85 + 0.15 * _smooth_field(rng, h, w, max(w, h) // 2)
    colour = rng.choice([[0.2, 1.0, 0.3], [1.0, 0.25, 0.2], [0.3, 0.5, 1.0], [1.0, 1.0, 1.0]], count)
    base = rng.uniform(170, 215)
    for _ in range(n):
        pos = pos + rng.normal(0, step, pos.shape)  # Brownian drift
        if variant == 0:  # bright field: dark rims, light halos, grey-beige background
            canvas = np.zeros((h, w), np.float32)
            halo = np.zeros((h, w), np.float32)
            for (x, y), r in zip(pos, size):
                cv2.circle(canvas, (int(x), int(y)), int(r), 1.0, max(1, int(r // 4)))
                cv2.circle(halo, (int(x), int(y)), int(r * 1.3), 1.0, -1)
            halo = cv2.GaussianBlur(halo, (0, 0), 2) * 0.15
            value = base * light * (1 - 0.6 * cv2.GaussianBlur(canvas, (0, 0), 0.8) + halo)
            img = _grey(value + rng.normal(0, 3, (h, w)))
            yield _to_uint8(img * np.array([1.0, 0.97, 0.9]))
        elif variant == 1:  # fluorescence: glowing nuclei on black
            img = np.zeros((h, w, 3), np.float32)
            for (x, y), r, col in zip(pos, size, colour):
                cv2.circle(img, (int(x), int(y)), int(r), tuple(float(c) for c in col), -1)
            img = cv2.GaussianBlur(img, (0, 0), 1.5) * 220 + rng.normal(0, 4, (h, w, 1))
            yield _to_uint8(img)
        else:  # dark field particles, very noisy
            canvas = np.zeros((h, w), np.float32)
            for (x, y), r in zip(pos, size):
                cv2.circle(canvas, (int(x), int(y)), max(1, int(r / 3)), 1.0, -1)
            value = 30 + 200 * cv2.GaussianBlur(canvas, (0, 0), 1.2) + rng.normal(0, 20, (h, w))
            yield _grey(value)


def _corrupted(rng, n, w, h):
    scene = (0.7 * _smooth_field(rng, h, w + n * 2, int(rng.integers(20, 50)), 3)  # colour layout + fine texture
             + 0.3 * _smooth_field(rng, h, w + n * 2, int(rng.integers(3, 8)))[..., None])
    scene = scene * 255 * rng.uniform(0.5, 1, 3)
    shapes = [(rng.uniform(0, w), rng.uniform(0, h), rng.uniform(-3, 3), int(rng.integers(h // 10, h // 4)),
               rng.integers(0, 256, 3).tolist()) for _ in range(int(rng.integers(1, 4)))]
    kinds = rng.choice(["blocky", "quantised", "glitch"], size=int(rng.integers(1, 3)), replace=False)
    block = int(rng.integers(8, 24))
    palette = rng.integers(0, 256, (int(rng.integers(2, 5)), 3)).astype(np.float32)
    previous = None
    for i in range(n):
        img = _to_uint8(scene[:, 2 * i:2 * i + w])
        for x, y, dx, r, col in shapes:
            cv2.circle(img, (int(x + dx * i) % w, int(y)), r, col, -1)
        if "blocky" in kinds:  # macroblocks: lost resolution and wrong-coloured blocks
            small = cv2.resize(img, (max(1, w // block), max(1, h // block)), interpolation=cv2.INTER_AREA)
            bad = rng.random(small.shape[:2]) < 0.2
            small[bad] = rng.integers(0, 256, (int(bad.sum()), 3), dtype=np.uint8)
            img = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
        if "quantised" in kinds:  # a handful of colours, no dithering
            d = ((img[:, :, None, :].astype(np.float32) - palette[None, None]) ** 2).sum(-1)
            img = palette[d.argmin(-1)].astype(np.uint8)
        if "glitch" in kinds:  # torn rows, split channels, smeared blocks from the previous frame
            img = img.copy()
            for _ in range(int(rng.integers(2, 6))):
                y0 = int(rng.integers(0, h - 2))
                y1 = min(h, y0 + int(rng.integers(2, max(3, h // 6))))
                img[y0:y1] = np.roll(img[y0:y1], int(rng.integers(-w // 3, w // 3)), axis=1)
            img[..., 0] = np.roll(img[..., 0], int(rng.integers(3, 10)), axis=1)
            img[..., 2] = np.roll(img[..., 2], -int(rng.integers(3, 10)), axis=0)
            if previous is not None:
                y0, x0 = int(rng.integers(0, h // 2)), int(rng.integers(0, w // 2))
                img[y0:y0 + h // 2, x0:x0 + w // 2] = previous[y0:y0 + h // 2, x0:x0 + w // 2]
            previous = img
        yield img


_GENERATORS = {"noise": _noise, "test_card": _test_card, "colour_bars": _colour_bars, "blank": _blank,
               "ultrasound": _ultrasound, "mri": _mri, "thermal": _thermal, "microscopy": _microscopy,
               "corrupted": _corrupted}


# ---- writing clips and the set -----------------------------------------------------------------------------------

def make_ood_clip(path: str | Path, kind: str, seed: int | tuple, *, size: tuple[int, int] = (320, 240),
                  seconds: float = 3.0, fps: float = 12) -> Path:
    """One generated clip of `kind` (one of KINDS) as H.264; `size` is (width, height), even numbers."""
    from ..train.synthetic import write_clip

    w, h = size
    rng = np.random.default_rng(seed)
    n = max(2, round(seconds * fps))
    frames = [np.ascontiguousarray(f, dtype=np.uint8) for f in _GENERATORS[kind](rng, n, w, h)]
    return write_clip(path, frames, fps)


def make_ood_set(out_dir: str | Path, n: int = 60, seed: int = 0, *, size: tuple[int, int] = (320, 240),
                 seconds: float = 3.0, fps: float = 12, kinds: tuple[str, ...] = KINDS) -> Path:
    """Write `n` generated out-of-distribution clips under `out_dir/<kind>/` and return `out_dir/manifest.csv`.

    The manifest lists path (relative to it), label (`ood`), group (the clip) and kind. Clips already written
    by an earlier call with the same recipe settings (recorded in out_dir/recipe.json) are kept: the recipe is
    deterministic, so they are the same bytes.
    """
    unknown = set(kinds) - set(KINDS)
    if unknown or not kinds:
        raise ValueError(f"unknown OOD kind(s) {sorted(unknown)}; known: {', '.join(KINDS)}")
    if size[0] % 2 or size[1] % 2:
        raise ValueError(f"size must be even for H.264, got {size[0]}x{size[1]}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    recipe = {"version": RECIPE_VERSION, "size": list(size), "seconds": seconds, "fps": fps}
    recipe_file = out_dir / "recipe.json"
    reuse = recipe_file.is_file() and json.loads(recipe_file.read_text()) == recipe
    if not reuse:
        recipe_file.unlink(missing_ok=True)  # rewritten once every clip follows this recipe
    rows = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        rel = f"{kind}/{kind}_{seed}_{i:04d}.mp4"
        path = out_dir / rel
        if not (reuse and path.is_file() and path.stat().st_size > 0):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(".tmp-" + path.name)
            make_ood_clip(tmp, kind, (RECIPE_VERSION, seed, i), size=size, seconds=seconds, fps=fps)
            tmp.replace(path)
        rows.append({"path": rel, "label": "ood", "group": rel, "kind": kind})
    manifest = out_dir / "manifest.csv"
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".tmp-", suffix=".csv")
    with os.fdopen(fd, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "label", "group", "kind"])
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, manifest)
    if not reuse:
        recipe_file.write_text(json.dumps(recipe))
    return manifest
