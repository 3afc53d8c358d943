"""Clip augmentations for training views: what a video may look like after the internet has had it.

A *recipe* is drawn once per view (`random_recipe`) and applied to every frame of the clip (`apply_recipe`),
so a clip stays self-consistent (one crop, one palette, one logo). Everything is numpy/OpenCV (+ PyAV for
re-encoding); recipes are plain JSON-able lists, and applying one is deterministic.

    rng = np.random.default_rng(seed)
    recipe = random_recipe(rng, AugmentConfig())      # e.g. [["crop", {...}], ["gif", {...}]]
    images = apply_recipe(images, recipe)             # list of HxWx3 uint8 RGB, same sizes as given

Operations, in the order they apply: crop, flip, letterbox, resize, color, overlay, reencode, jpeg, gif.
"""

from __future__ import annotations

import io
from functools import lru_cache

import cv2
import numpy as np

from .config import AugmentConfig

AUGMENT_VERSION = 1  # bump when an operation changes: cached augmented views are keyed by it
ORDER = ("crop", "flip", "letterbox", "resize", "color", "overlay", "reencode", "jpeg", "gif")
WORDS = ("the", "you", "and", "go", "what", "now", "here", "look", "wait", "no", "yes", "come", "on", "this", "is",
         "it", "my", "we", "okay", "right", "level", "score", "really", "again", "why", "they", "over", "there")

Recipe = list  # [[name, params], ...]


def random_recipe(rng: np.random.Generator, probs: AugmentConfig) -> Recipe:
    """Draw which operations apply, and their parameters, for one view."""
    recipe = []
    for name in ORDER:
        if rng.random() < getattr(probs, name):
            recipe.append([name, _PARAMS[name](rng)])
    return recipe


def apply_recipe(images: list[np.ndarray], recipe: Recipe) -> list[np.ndarray]:
    """Apply a recipe to every frame of a clip; returns new HxWx3 uint8 RGB images (sizes may change)."""
    out = [np.ascontiguousarray(im) for im in images]
    for name, params in recipe:
        if name in _CLIP_OPS:
            out = _CLIP_OPS[name](out, **params)
        else:
            op = _FRAME_OPS[name]
            out = [op(im, **params) for im in out]
    return out


# ---- parameters ---------------------------------------------------------------------------------------------

def _crop_params(rng):
    w, h = rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0)
    return {"x": float(rng.uniform(0, 1 - w)), "y": float(rng.uniform(0, 1 - h)), "w": float(w), "h": float(h)}


def _color_params(rng):
    return {"brightness": float(rng.uniform(-0.2, 0.2)), "contrast": float(rng.uniform(0.7, 1.3)),
            "saturation": float(rng.uniform(0.6, 1.4)), "hue": float(rng.uniform(-8, 8))}


def _gif_params(rng):
    return {"colors": int(rng.choice([16, 32, 64, 128, 256])), "palette": str(rng.choice(["kmeans", "fixed"])),
            "dither": str(rng.choice(["floyd", "ordered", "none"], p=[0.5, 0.3, 0.2])),
            "max_side": int(rng.choice([240, 320, 400, 480]))}


def _overlay_params(rng):
    kinds = [k for k in ("subtitles", "logo", "hud") if rng.random() < 0.5] or [str(rng.choice(["subtitles", "logo", "hud"]))]
    return {"kinds": kinds, "text": " ".join(rng.choice(WORDS, size=int(rng.integers(2, 6)))),
            "corner": int(rng.integers(0, 4)), "color": [int(c) for c in rng.integers(0, 256, size=3)],
            "seed": int(rng.integers(0, 2**31))}


_PARAMS = {
    "crop": _crop_params,
    "flip": lambda rng: {},
    "letterbox": lambda rng: {"fill": float(rng.uniform(0.6, 0.85)), "vertical": bool(rng.random() < 0.7)},
    "resize": lambda rng: {"scale": float(rng.uniform(0.2, 0.6)), "nearest": bool(rng.random() < 0.3)},
    "color": _color_params,
    "overlay": _overlay_params,
    "reencode": lambda rng: {"crf": int(rng.integers(38, 51))},
    "jpeg": lambda rng: {"quality": int(rng.integers(5, 40))},
    "gif": _gif_params,
}


# ---- per-frame operations -----------------------------------------------------------------------------------

def crop(im, x, y, w, h):
    """Keep the box (x, y, w, h), given as fractions of the frame."""
    H, W = im.shape[:2]
    x0, y0 = int(x * W), int(y * H)
    x1, y1 = max(x0 + 2, int((x + w) * W)), max(y0 + 2, int((y + h) * H))
    return np.ascontiguousarray(im[y0:y1, x0:x1])


def flip(im):
    """Mirror left-right."""
    return np.ascontiguousarray(im[:, ::-1])


def letterbox(im, fill, vertical):
    """Black bars: keep the centre band (`fill` of the height, or of the width) in place, blank the rest.

    This is what a wider (vertical=True: bars above/below) or narrower (bars at the sides) picture looks like
    when fitted into this frame; nothing is stretched and the frame size is unchanged.
    """
    H, W = im.shape[:2]
    out = np.zeros_like(im)
    if vertical:
        h = max(2, int(H * fill))
        y = (H - h) // 2
        out[y:y + h] = im[y:y + h]
    else:
        w = max(2, int(W * fill))
        x = (W - w) // 2
        out[:, x:x + w] = im[:, x:x + w]
    return out


def resize(im, scale, nearest):
    """Downscale by `scale` then back up: the detail a low-resolution source lost."""
    H, W = im.shape[:2]
    small = cv2.resize(im, (max(2, int(W * scale)), max(2, int(H * scale))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (W, H), interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR)


def color(im, brightness, contrast, saturation, hue):
    """Brightness shift, contrast and saturation scale, hue rotation (degrees)."""
    hsv = cv2.cvtColor(im, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + hue / 2.0) % 180.0  # OpenCV hue is 0..180
    hsv[..., 1] = np.clip(hsv[..., 1] * saturation, 0, 255)
    rgb = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    mean = rgb.mean()
    rgb = (rgb - mean) * contrast + mean + brightness * 255.0
    return np.clip(rgb, 0, 255).astype(np.uint8)


def jpeg(im, quality):
    """Round-trip through JPEG at `quality` (blocking, ringing, chroma loss)."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(im, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) if ok else im


# ---- overlays -----------------------------------------------------------------------------------------------

def overlay(im, kinds, text, corner, color, seed):
    """Draw subtitles (bottom text with outline), a logo (corner badge) and/or HUD boxes (game-style bars)."""
    out = im.copy()
    H, W = out.shape[:2]
    rng = np.random.default_rng(seed)
    scale = max(0.3, min(H, W) / 400)
    thick = max(1, int(round(scale * 2)))
    if "subtitles" in kinds:
        font = cv2.FONT_HERSHEY_SIMPLEX
        (tw, th), _ = cv2.getTextSize(text, font, scale, thick)
        org = (max(0, (W - tw) // 2), int(H * 0.92))
        cv2.putText(out, text, org, font, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.putText(out, text, org, font, scale, (255, 255, 255), thick, cv2.LINE_AA)
    if "logo" in kinds and min(H, W) >= 24:  # a translucent badge in one corner
        s = max(8, int(min(H, W) * 0.12))
        x = 4 if corner in (0, 2) else W - s - 4
        y = 4 if corner in (0, 1) else H - s - 4
        badge = np.zeros((s, s, 3), np.uint8)
        cv2.circle(badge, (s // 2, s // 2), s // 2 - 1, tuple(int(c) for c in color), -1, cv2.LINE_AA)
        cv2.putText(badge, text[:2].upper(), (s // 5, int(s * 0.68)), cv2.FONT_HERSHEY_DUPLEX, s / 40, (255, 255, 255),
                    max(1, s // 20), cv2.LINE_AA)
        alpha = (badge.max(axis=2, keepdims=True) > 0) * 0.7
        region = out[y:y + s, x:x + s].astype(np.float32)
        out[y:y + s, x:x + s] = (region * (1 - alpha) + badge * alpha).astype(np.uint8)
    if "hud" in kinds:
        for _ in range(int(rng.integers(1, 4))):
            bw, bh = int(W * rng.uniform(0.1, 0.3)), int(H * rng.uniform(0.03, 0.08))
            x, y = int(rng.uniform(0.02, 0.98) * (W - bw)), int(rng.choice([0.02, 0.9]) * H)
            fill = int(bw * rng.uniform(0.2, 1.0))
            cv2.rectangle(out, (x, y), (x + bw, y + bh), (20, 20, 20), -1)
            cv2.rectangle(out, (x + 1, y + 1), (x + fill, y + bh - 1), tuple(int(c) for c in color), -1)
            cv2.rectangle(out, (x, y), (x + bw, y + bh), (255, 255, 255), 1)
        m = int(min(H, W) * 0.22)  # a minimap
        cv2.rectangle(out, (W - m - 4, 4), (W - 4, m + 4), (40, 60, 40), -1)
        cv2.rectangle(out, (W - m - 4, 4), (W - 4, m + 4), (230, 230, 230), 1)
    return out


# ---- whole-clip operations (shared state across frames) ------------------------------------------------------

def reencode(images, crf):
    """Encode the clip as H.264 at constant-quality `crf` (38..51: heavy) with PyAV and decode it back."""
    import av

    H, W = images[0].shape[:2]
    h, w = H - H % 2, W - W % 2
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": str(crf), "preset": "ultrafast", "threads": "1"}
        else:
            stream.bit_rate = int(w * h * 10 * 0.02)
        for im in images:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(cv2.resize(im, (w, h)) if im.shape[:2] != (h, w) else im),
                                               format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    buf.seek(0)
    with av.open(buf) as inp:
        decoded = [f.to_ndarray(format="rgb24") for f in inp.decode(video=0)]
    if len(decoded) != len(images):  # never expected; keep the clip intact rather than misalign frames
        return images
    return [cv2.resize(d, (W, H)) if d.shape[:2] != (H, W) else d for d in decoded]


def gif(images, colors, palette, dither, max_side):
    """GIF-style: shrink to `max_side`, one global palette of `colors` (k-means or fixed), then dither."""
    H, W = images[0].shape[:2]
    scale = min(1.0, max_side / max(H, W))
    small = [cv2.resize(im, (max(2, int(W * scale)), max(2, int(H * scale))), interpolation=cv2.INTER_AREA)
             if scale < 1 else im for im in images]
    pal = _kmeans_palette(small, colors) if palette == "kmeans" else _fixed_palette(colors)
    lut = _palette_lut(pal.tobytes())
    quantize = {"floyd": _floyd_steinberg, "ordered": _ordered, "none": _nearest}[dither]
    out = [quantize(im, pal, lut) for im in small]
    return [cv2.resize(o, (W, H), interpolation=cv2.INTER_NEAREST) if scale < 1 else o for o in out]


def _kmeans_palette(images, k):
    pixels = np.concatenate([im.reshape(-1, 3)[::7] for im in images]).astype(np.float32)
    k = min(k, len(np.unique(pixels[:20000], axis=0)))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    cv2.setRNGSeed(0)
    _, _, centers = cv2.kmeans(pixels[:20000], max(k, 1), None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    return np.clip(np.round(centers), 0, 255).astype(np.uint8)


def _fixed_palette(k):
    """A uniform RGB lattice with at most k colours (k=256: the classic 6x7x6 'web' style cube)."""
    n = {16: (2, 3, 2), 32: (3, 4, 2), 64: (4, 4, 4), 128: (4, 8, 4), 256: (6, 7, 6)}.get(k, (6, 7, 6))
    axes = [np.linspace(0, 255, m) for m in n]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    return np.round(grid).astype(np.uint8)


@lru_cache(maxsize=16)
def _palette_lut(palette_bytes: bytes) -> np.ndarray:
    """A 32x32x32 lookup table from (r>>3, g>>3, b>>3) to the index of the nearest palette colour."""
    pal = np.frombuffer(palette_bytes, np.uint8).reshape(-1, 3).astype(np.float32)
    centres = (np.arange(32, dtype=np.float32) * 8 + 4)
    grid = np.stack(np.meshgrid(centres, centres, centres, indexing="ij"), axis=-1).reshape(-1, 3)
    idx = np.empty(len(grid), np.int32)
    for s in range(0, len(grid), 4096):
        d = ((grid[s:s + 4096, None, :] - pal[None]) ** 2).sum(-1)
        idx[s:s + 4096] = d.argmin(1)
    return idx.reshape(32, 32, 32)


def _lookup(rgb, lut):
    q = np.clip(rgb, 0, 255).astype(np.int32) >> 3
    return lut[q[..., 0], q[..., 1], q[..., 2]]


def _nearest(im, pal, lut):
    return pal[_lookup(im, lut)]


_BAYER = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], np.float32) / 16.0 - 0.5


def _ordered(im, pal, lut):
    """Ordered (4x4 Bayer) dithering: a fixed threshold pattern, the cross-hatched look of many GIFs."""
    H, W = im.shape[:2]
    spread = 255.0 / max(2.0, round(len(pal) ** (1 / 3)))
    noise = np.tile(_BAYER, (H // 4 + 1, W // 4 + 1))[:H, :W, None] * spread
    return pal[_lookup(im.astype(np.float32) + noise, lut)]


def _floyd_steinberg(im, pal, lut):
    """Floyd-Steinberg error diffusion, vectorised along anti-diagonal wavefronts (x + 2y = t).

    Pixel (y, x) needs the error of (y, x-1), (y-1, x-1), (y-1, x) and (y-1, x+1), all on earlier wavefronts,
    so every pixel of one wavefront can be quantised at once.
    """
    H, W = im.shape[:2]
    work = im.astype(np.float32)
    out = np.empty((H, W, 3), np.uint8)
    ys_all = np.arange(H)
    palf = pal.astype(np.float32)
    for t in range(W + 2 * (H - 1)):
        ys = ys_all[(t - 2 * ys_all >= 0) & (t - 2 * ys_all < W)]
        if ys.size == 0:
            continue
        xs = t - 2 * ys
        old = work[ys, xs]
        idx = _lookup(old, lut)
        out[ys, xs] = pal[idx]
        err = old - palf[idx]
        right = xs + 1 < W
        work[ys[right], xs[right] + 1] += err[right] * (7 / 16)
        down = ys + 1 < H
        yd, xd, ed = ys[down] + 1, xs[down], err[down]
        left = xd > 0
        work[yd[left], xd[left] - 1] += ed[left] * (3 / 16)
        work[yd, xd] += ed * (5 / 16)
        r = xd + 1 < W
        work[yd[r], xd[r] + 1] += ed[r] * (1 / 16)
    return out


_FRAME_OPS = {"crop": crop, "flip": flip, "letterbox": letterbox, "resize": resize, "color": color,
              "overlay": overlay, "jpeg": jpeg}
_CLIP_OPS = {"reencode": reencode, "gif": gif}
