"""Camera-like clips of real photographs shipped by Debian wallpaper packages (label "natural").

Sources, photographs only (36): lomiri-wallpapers-16.04 (13: landscapes, a bridge, a dragonfly, a fig, brushes,
a living room, dandelions, ...), lomiri-wallpapers-20.04 (a nuthatch), mate-backgrounds (its 12 nature/ macro
shots) and plasma-workspace-wallpapers (10: lakes, boats, a forest path, a leaf, cups, a building). Left out as
not photographs: gnome-backgrounds and ukui-wallpapers (all illustrations or 3-D art), mate's abstract/ and desktop/
folders, the digital art of plasma (Altai, Autumn, Canopee, Cascade, ...) and its Kite (a logo pasted on a sky),
lomiri's analogpattern, umang, Fossa, Infinite-Sea and Painting-Colors.

Each clip (640x360, 960x540 or 1280x720; 24, 25 or 30 fps; 4 to 10 s) films one photograph with a virtual
camera: a slow pan and zoom (Ken Burns), hand-held shake (a smooth random walk of translation and roll; sometimes
almost none, as on a tripod), motion blur along the image motion, sensor noise (luma and coarser chroma, stronger
in the shadows), slow exposure and white-balance drift, sometimes a focus pull with focus breathing at the start
of a shot, and now and then a cut to a second framing of the same photograph. Group = the photograph, licence =
its stanza of the package's copyright file. Clip i draws everything from numpy's Generator((seed, i)).
Measured on this machine (2 shared cores, busy): about 0.4 s per second of 640x360 video, 1.7 s per second of
1280x720 (3 to 17 s a clip).
"""

from __future__ import annotations

import fnmatch
import logging
import re
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from .base import Clip, ensure_apt, package_license, smoothstep, write_clip_atomically

log = logging.getLogger(__name__)

NAME = "photos"
LABEL = "natural"
_PLASMA = "/usr/share/wallpapers/{}/contents/images/2560x1600.jpg"
PHOTOS = {  # package: the photographs it ships
    "lomiri-wallpapers-16.04": tuple(f"/usr/share/backgrounds/{n}.jpg" for n in (
        "Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "Picture_0B_by_freespace", "Picture_1A_by_freespace",
        "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi", "free_by_Peter_Nerlich",
        "friends_by_Aitzol_Berasategi", "greentock_by_Peter_Nerlich", "life_by_Aitzol_Berasategi",
        "picosdeeuropa_by_Aitzol_Berasategi", "seeding_by_Clements_Engelhardt", "sunset_by_Aitzol_Berasategi")),
    "lomiri-wallpapers-20.04": ("/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg",),
    "mate-backgrounds": tuple(f"/usr/share/backgrounds/mate/nature/{n}.jpg" for n in (
        "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
        "TwoWings", "Wood", "YellowFlower")),
    "plasma-workspace-wallpapers": tuple(_PLASMA.format(n) for n in (
        "BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey",
        "OneStandsOut", "Path", "summer_1am")),
}
APT = tuple(PHOTOS)
SIZES = ((640, 360), (960, 540), (1280, 720))
FPS = (24, 25, 30)


def clips(out_dir: Path, n: int, seed: int, done: set[str], *, seconds: float | None = None,
          size: tuple[int, int] | None = None) -> Iterator[Clip]:
    """Write clips 0..n-1 (those not in `done`) under out_dir/photos/; `seconds` and `size` override the drawn ones."""
    ensure_apt(APT)
    photos = [(pkg, Path(p)) for pkg, paths in PHOTOS.items() for p in paths]
    for i in range(n):
        rng = np.random.default_rng((seed, i))
        package, photo = photos[rng.integers(len(photos))]
        item = _item(photo)
        path = f"{NAME}/{item}_{seed}_{i:04d}.mp4"
        drawn_size, fps, drawn_seconds = SIZES[rng.integers(len(SIZES))], int(rng.choice(FPS)), rng.uniform(4, 10)
        if path in done:
            continue
        try:
            image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
            if image is None:
                raise OSError(f"cannot read {photo}")
            frames = film(image[..., ::-1], rng, size or drawn_size, fps, seconds or drawn_seconds)
            write_clip_atomically(Path(out_dir) / path, frames, fps)
        except Exception as e:  # one bad photograph must not stop the build
            log.warning("photos: clip %d (%s) failed: %s", i, photo, e)
            continue
        yield Clip(path, LABEL, package, f"photo:{item}", photo_license(package, photo))


def _item(photo: Path) -> str:
    """A short unique name: the file name, or the wallpaper's folder for plasma's <name>/contents/images/WxH.jpg."""
    return photo.parents[2].name if photo.parent.name == "images" else photo.stem


def photo_license(package: str, photo: Path) -> str:
    """The licence of `photo` in its package's DEP-5 copyright file: the last stanza whose Files match it."""
    path = Path("/usr/share/doc") / package / "copyright"
    found = None
    for stanza in re.split(r"\n\s*\n", path.read_text(errors="replace") if path.is_file() else ""):
        files = re.search(r"^Files:(.*(?:\n[ \t].*)*)", stanza, re.M)
        licence = re.search(r"^License:\s*(\S.*)$", stanza, re.M)
        if files and licence and any(_matches(p, photo) for p in files.group(1).split()):
            found = licence.group(1).strip()
    return found or package_license(package)


def _matches(pattern: str, photo: Path) -> bool:
    # the patterns are paths in the source tree (e.g. "16.04/x.jpg"), not where the file is installed
    return pattern == "*" or (not pattern.startswith("debian/") and fnmatch.fnmatch(photo.name, Path(pattern).name))


def film(photo: np.ndarray, rng: np.random.Generator, size: tuple[int, int], fps: float,
         seconds: float) -> Iterator[np.ndarray]:
    """Yield the RGB frames of a hand-held camera filming `photo` (RGB) at `size` (width, height)."""
    w, h = size
    n = max(2, round(seconds * fps))
    # shrink the photograph once to what the closest framing needs, so that each frame samples it without aliasing
    cover = max(w / photo.shape[1], h / photo.shape[0]) * 1.06  # screen px per photo px; 6 % margin for the roll
    pre = min(1.0, cover * 1.6)
    img = cv2.resize(photo, None, fx=pre, fy=pre, interpolation=cv2.INTER_AREA) if pre < 1 else photo
    img = np.ascontiguousarray(img)
    cover /= pre
    ih, iw = img.shape[:2]

    tripod = rng.random() < 0.2
    shake_px = (rng.uniform(0.2, 0.8) if tripod else rng.uniform(1.5, 7.0)) * w / 640
    shake = _wander(rng, n, fps, 2) * shake_px
    roll = _wander(rng, n, fps, 1)[:, 0] * (0.05 if tripod else rng.uniform(0.1, 0.6))  # degrees
    cut = int(rng.uniform(0.35, 0.65) * n) if rng.random() < 0.3 else n
    shots = [(0, cut), (cut, n)] if cut < n else [(0, n)]
    centre, zoom = np.zeros((n, 2)), np.zeros(n)
    for a, b in shots:
        t = smoothstep(np.linspace(0, 1, b - a))
        z0, z1 = rng.uniform(1.0, 1.5, 2)
        zoom[a:b] = cover * (z0 + (z1 - z0) * t)
        start = rng.uniform(0.2, 0.8, 2) * (iw, ih)
        pan = rng.normal(0, 0.08, 2) * (iw, ih) * (b - a) / fps / 5  # slow: ~8 % of the photograph per 5 s
        centre[a:b] = start + np.outer(t, pan)
    margin = 2.5 * shake_px
    half = np.stack([(w / 2 + margin) / zoom, (h / 2 + margin) / zoom], axis=1)  # half the view, in photo pixels
    centre = np.clip(centre, half, (iw, ih) - half)
    exposure = 1 + 0.06 * _wander(rng, n, fps, 1, smooth_s=1.5)[:, 0]
    balance = 1 + 0.025 * _wander(rng, n, fps, 3, smooth_s=2.0)
    focus = np.zeros(n)
    for a, _ in shots:
        if rng.random() < 0.25:  # a focus pull at the start of the shot
            k = min(int(rng.uniform(0.4, 1.2) * fps), n - a)
            focus[a:a + k] = rng.uniform(1.5, 4.0) * (1 - smoothstep(np.linspace(0, 1, k))) * w / 640
    grain = rng.uniform(1.0, 5.0)  # luma noise sigma in mid-grey, of 255
    chroma = rng.uniform(0.3, 0.8) * grain
    shutter = rng.uniform(0.3, 0.7)  # exposure time as a share of the frame time

    previous = None
    for k in range(n):
        z = zoom[k] * (1 + 0.012 * focus[k] * 640 / w)  # focus breathing: the field of view shifts with focus
        m = cv2.getRotationMatrix2D((float(centre[k, 0]), float(centre[k, 1])), float(roll[k]), float(z))
        m[:, 2] += (w / 2 + shake[k, 0] - centre[k, 0], h / 2 + shake[k, 1] - centre[k, 1])
        frame = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        if previous is not None and k != cut:
            frame = _motion_blur(frame, (m - previous) @ (iw / 2, ih / 2, 1) * shutter)
        previous = m
        if focus[k] > 0.3:
            frame = cv2.GaussianBlur(frame, (0, 0), float(focus[k]))
        frame = frame.astype(np.float32) * (exposure[k] * balance[k])
        luma = frame.mean(axis=2, keepdims=True) / 255
        shadow = 0.6 + 1.4 * (1 - np.clip(luma, 0, 1))  # noise is relatively stronger in dark areas
        noise = rng.standard_normal((h, w, 1), dtype=np.float32) * grain
        coarse = rng.standard_normal((h // 4, w // 4, 3), dtype=np.float32) * chroma
        noise = noise + cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
        yield np.clip(frame + noise * shadow, 0, 255).astype(np.uint8)


def _wander(rng, n: int, fps: float, dims: int, smooth_s: float = 0.25) -> np.ndarray:
    """A smooth random walk pulled back to zero: (n, dims) values of standard deviation about 1."""
    sigma = max(1.0, smooth_s * fps)
    pad = int(3 * sigma)
    steps = rng.standard_normal((n + 2 * pad + 4 * int(fps), dims))
    walk = np.zeros_like(steps)
    for k in range(1, len(steps)):
        walk[k] = 0.97 * walk[k - 1] + steps[k]  # the pull keeps a long clip from drifting away
    x = np.arange(-pad, pad + 1)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    walk = np.stack([np.convolve(c, kernel / kernel.sum(), mode="valid") for c in walk.T], axis=1)[-n:]
    return walk / (walk.std(axis=0, keepdims=True) + 1e-6)


def _motion_blur(frame: np.ndarray, shift) -> np.ndarray:
    """Blur along the image motion `shift` (pixels moved while the shutter was open)."""
    length = float(np.hypot(*shift))
    if length < 1.5:
        return frame
    size = int(np.ceil(length)) | 1
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    dx, dy = np.asarray(shift) / length * (size - 1) / 2
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
    return cv2.filter2D(frame, -1, kernel / kernel.sum())
