"""Cartoon clips made from animation material that Debian ships, and toon-shaded 3-D scenes from Blender.

    synfig   synfig-examples, rendered with the synfig CLI at 12 drawings per second (each held for two frames):
             the animated star, prologue_kid (a character breathing and turning his head) and z_depth_test (two
             tori circling), the character pictures pirates and macwolfen, the painted room of backdrop, and the
             cut-outs headmo (a cartoon head) and eyes. Opaque scenes are filmed by an eased virtual camera (pan,
             zoom); transparent ones are moved as cut-outs over painted scenery.
    clipart  openclipart-svg drawings of one theme (animals/birds, people, food/fruit, transportation/vehicles,
             ...; each drawing belongs to one theme only), rendered with rsvg-convert and animated as cut-outs:
             walks with hops, flights, jumps with squash and stretch, spins, pop-ins with overshoot, on twos or on
             ones, over flat or gradient painted scenery (sky, hills, sun, clouds, or a room), with camera moves.
    blender  blob characters with big eyes hopping (squash and stretch) in a meadow, village or playroom of
             primitives, filmed by orbiting and dollying cameras; Blender's Workbench renders them headless, without
             a GPU, with its toon matcap and outlines, at 12 drawings per second.
Left out: synfig's logos, text and test scenes (logo, installer-logo, about_dialog, business_card, candy, japan,
preambletaffy, warptext, gamma, gradient, splat, wallpaper), its procedural textures and fractals (cells, noise,
mandelbrot, newjulia*, sparkle), eye and warpcube (2 and 30 s to render one frame here); clip art that covers less
than 12 % or more than 90 % of its box (hairlines, framed pictures); Blender's Eevee (a cel shader with inverted-hull
outlines looked alike and rendered 6 times slower).

A clip (640x360 at 24 fps, 4 to 10 s) has one to three shots of one item with hard cuts between them (another
framing, loop phase, scenery, cast or camera), so its group is the example ("synfig:pirates"), the theme
("clipart:animals/birds") or the scenery ("blender:village"). Clip i draws everything from numpy's
Generator((seed, i)). Measured on this machine (2 shared cores, busy): a clip-art clip takes 1 to 3 s; a synfig
clip 1 s once its example is rendered, which costs 0.2 to 7 s per example and 80 s for prologue_kid, once per
`clips` call; a Blender clip about 2.5 s per second of video.
"""
from __future__ import annotations

import json
import logging
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from .base import Clip, CorpusError, ensure_apt, package_license, smoothstep, write_clip_atomically

log = logging.getLogger(__name__)

NAME = "animation"
LABEL = "animation"
APT = ("synfig", "synfig-examples", "openclipart-svg", "librsvg2-bin", "blender")
FPS = 24
SYNFIG_DIR = Path("/usr/share/doc/synfig-examples/examples")
SYNFIG = {  # example: (seconds of animation, 0 for a still; drawn on a transparent background, i.e. a cut-out)
    "star": (5, False), "prologue_kid": (5, False), "z_depth_test": (4, True), "pirates": (0, False),
    "macwolfen": (0, False), "backdrop": (0, False), "headmo": (0, True), "eyes": (0, True)}
CLIPART_DIR = Path("/usr/share/openclipart/svg")
THEMES = (  # sub-folders first: a drawing filed in several folders belongs to the first theme that lists it
    "animals/birds", "animals/bugs", "animals/dinosaurs", "animals/fish", "animals/mammals", "animals",
    "people/smilies", "people/stickmen", "people", "plants/flowers", "plants/trees", "food/desserts", "food/fruit",
    "food/vegetables", "transportation/boating", "transportation/vehicles", "buildings/homes", "recreation/holiday",
    "recreation/music", "recreation/party", "recreation/sports", "recreation/toys")
CLIPART_LICENSE = "public-domain"  # openclipart-svg's copyright file is the Creative Commons PD dedication
BLENDER = ("meadow", "village", "playroom")  # the scenery of the 3-D scenes


def clips(out_dir: Path, n: int, seed: int, done: set[str], *, seconds: float | None = None,
          size: tuple[int, int] = (640, 360)) -> Iterator[Clip]:
    """Write clips 0..n-1 (those not in `done`) under out_dir/animation/; `seconds` overrides the drawn length."""
    ensure_apt(APT)
    items = [("synfig", e) for e in SYNFIG] + [("clipart", t) for t in THEMES] + [("blender", s) for s in BLENDER]
    with tempfile.TemporaryDirectory(prefix="vidtype-animation-") as work:
        art = _Art(Path(work), size)
        for i in range(n):
            rng = np.random.default_rng((seed, i))
            kind, item = items[rng.integers(len(items))]
            length = rng.uniform(4, 10)
            path = f"{NAME}/{kind}-{item.replace('/', '-')}_{seed}_{i:04d}.mp4"
            if path in done:
                continue
            try:
                write_clip_atomically(Path(out_dir) / path, _clip(art, rng, kind, item, size, seconds or length), FPS)
            except Exception as e:  # one failing example or drawing must not stop the build
                log.warning("animation: clip %d (%s %s) failed: %s", i, kind, item, e)
                continue
            source = {"synfig": "synfig-examples", "clipart": "openclipart-svg", "blender": "blender"}[kind]
            licence = CLIPART_LICENSE if kind == "clipart" else package_license(source)
            yield Clip(path, LABEL, source, f"{kind}:{item}", licence)


class _Art:
    """Renders synfig examples and clip-art drawings on first use, kept for the rest of a `clips` call."""

    def __init__(self, work: Path, size: tuple[int, int]):
        self.work, self.size = work, size
        self.renders: dict[str, list[np.ndarray]] = {}
        self.drawings: dict[Path, Path | None] = {}  # a drawing's cut-out, or None if it is no good
        self.themes: dict[str, list[Path]] = {}
        seen = set()
        for theme in THEMES:
            files = [p for p in sorted((CLIPART_DIR / theme).glob("*.svg")) if p.name not in seen]
            seen.update(p.name for p in files)
            self.themes[theme] = files

    def synfig(self, example: str) -> list[np.ndarray]:
        """The frames of `example` (RGB, or premultiplied RGBA for a cut-out), 12 per second; one for a still."""
        if example not in self.renders:
            seconds, cutout = SYNFIG[example]
            text = (SYNFIG_DIR / f"{example}.sif").read_text()
            if cutout:  # switch the backdrop off: a solid colour, or a checkerboard standing in for transparency
                text = re.sub(r'(<layer type="(?:SolidColor|checker_board)" active=)"true"', r'\1"false"', text)
            sif, out = self.work / f"{example}.sif", self.work / example
            sif.write_text(text)
            out.mkdir()
            nw, nh = (int(v) for v in re.search(r'<canvas[^>]*width="(\d+)"[^>]*height="(\d+)"', text).groups())
            w, h = self.size
            width = int(max(w, h * nw / nh) * 1.15)  # room for the camera to zoom in
            timing = ["--begin-time", "0s", "--end-time", f"{seconds}s", "--fps", "12"] if seconds else ["--time", "0"]
            r = subprocess.run(["synfig", "-q", "-T", "1", str(sif), "-t", "png", "-o", str(out / "f.png"),
                                "-w", str(width), "-h", "0", *timing], capture_output=True, text=True, timeout=900)
            frames = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(out.glob("*.png"))]
            if r.returncode != 0 or not frames or any(f is None or f.ndim != 3 or f.shape[2] != 4 for f in frames):
                raise CorpusError(f"synfig could not render {example}: {r.stderr.strip()[-300:]}")
            frames = [cv2.cvtColor(f, cv2.COLOR_BGRA2RGBA) for f in frames]
            if cutout:
                ys, xs = np.nonzero(np.max([f[..., 3] for f in frames], axis=0) > 8)
                frames = [_premultiply(f[ys.min():ys.max() + 1, xs.min():xs.max() + 1]) for f in frames]
            else:
                frames = [np.ascontiguousarray(f[..., :3]) for f in frames]
            self.renders[example] = frames
        return self.renders[example]

    def drawing(self, svg: Path) -> np.ndarray | None:
        """`svg` as a premultiplied RGBA cut-out cropped to its ink, or None when it is no good as a cut-out."""
        if svg not in self.drawings:  # kept on disk: a long build meets most of the ~1300 drawings
            box = int(self.size[1] * 0.9)
            png = self.work / f"drawing{len(self.drawings)}.png"
            self.drawings[svg] = None
            try:
                subprocess.run(["rsvg-convert", "-w", str(2 * box), "-h", str(box), "--keep-aspect-ratio", "-o",
                                str(png), str(svg)], capture_output=True, timeout=60, check=True)
                rgba = cv2.cvtColor(cv2.imread(str(png), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
            except Exception:  # rsvg-convert fails on a few drawings
                return None
            ys, xs = np.nonzero(rgba[..., 3] > 8)
            if len(ys):
                rgba = rgba[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
                if min(rgba.shape[:2]) >= box // 8 and 0.12 < (rgba[..., 3] > 128).mean() < 0.9:
                    cv2.imwrite(str(png), _premultiply(rgba))  # channels stay in RGBA order
                    self.drawings[svg] = png
        return None if self.drawings[svg] is None else cv2.imread(str(self.drawings[svg]), cv2.IMREAD_UNCHANGED)


def _premultiply(rgba: np.ndarray) -> np.ndarray:
    # premultiplied colours interpolate without dark fringes when a cut-out is scaled or turned
    out = rgba.copy()
    out[..., :3] = (rgba[..., :3].astype(np.uint16) * rgba[..., 3:] // 255).astype(np.uint8)
    return out


def _clip(art: _Art, rng, kind: str, item: str, size: tuple[int, int], seconds: float) -> Iterator[np.ndarray]:
    """The frames of one clip: one to three shots of `item`, hard cuts between them."""
    n = max(2, round(seconds * FPS))
    shots = 1 + int(rng.random() < 0.5) + int(rng.random() < 0.25)
    shots = max(1, min(shots, n // (2 * FPS)))  # shots of 2 s at least
    bounds = np.linspace(0, n, shots + 1).astype(int)
    if kind == "blender":
        for k, drawing in enumerate(_blender(art, rng, item, size, bounds)):
            yield from (drawing,) * (min(n, 2 * k + 2) - 2 * k)  # 12 drawings per second, each held two frames
        return
    for a, b in zip(bounds[:-1], bounds[1:]):
        yield from _shot(art, rng, kind, item, size, b - a)


def _shot(art: _Art, rng, kind: str, item: str, size: tuple[int, int], n: int) -> Iterator[np.ndarray]:
    w, h = size
    on_twos = rng.random() < 0.5  # the cast moves every other frame, as in most hand-drawn animation
    if kind == "synfig" and not SYNFIG[item][1]:  # an opaque scene: the camera films the rendered picture
        world, cast = art.synfig(item), []
    else:
        world = [_scenery(rng, int(w * 1.3), int(h * 1.3))]
        if kind == "synfig":
            cast = [art.synfig(item)]
        else:
            files = art.themes[item]
            cast = [d for d in (art.drawing(files[k]) for k in rng.permutation(len(files))[:12]) if d is not None]
            cast = [[d] for d in cast[:int(rng.integers(1, 4))]]
        if not cast:
            raise CorpusError(f"no usable drawing in {item}")
    wh, ww = world[0].shape[:2]
    camera = _camera(rng, (ww, wh), size, n, still=len(world) == 1 and not cast)
    middle = np.linalg.inv(camera[n // 2])[:2] @ [(0, w, 0, w), (0, 0, h, h), (1, 1, 1, 1)]
    view = (middle[0].min(), middle[0].max(), middle[1].min(), middle[1].max())  # what the camera sees mid-shot
    ground = view[2] + rng.uniform(0.75, 0.95) * (view[3] - view[2])
    heights = rng.uniform(0.3, 0.6, len(cast)) * (view[3] - view[2])
    moves = [_moves(rng, n, view, ground, height) for height in heights]
    phase = int(rng.integers(1 << 16))
    for k in range(n):
        held = k - k % 2 if on_twos else k
        frame = cv2.warpAffine(world[_loop(phase + k // 2, len(world))], camera[k][:2], (w, h),
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        for drawings, move, height in zip(cast, moves, heights):
            sprite = drawings[_loop(phase + held // 2, len(drawings))]
            m = _place(sprite.shape, move[held], height)
            if m is None:
                continue
            layer = cv2.warpAffine(sprite, (camera[k] @ np.vstack([m, (0, 0, 1)]))[:2], (w, h),
                                   flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            frame = frame * (1 - layer[..., 3:].astype(np.float32) / 255) + layer[..., :3]
        yield np.clip(frame, 0, 255).astype(np.uint8)


def _loop(k: int, length: int) -> int:
    """Index k of a ping-pong loop over `length` drawings (there and back, so a loop never jumps)."""
    if length == 1:
        return 0
    k %= 2 * length - 2
    return k if k < length else 2 * length - 2 - k


def _camera(rng, world: tuple[int, int], size: tuple[int, int], n: int, still: bool) -> np.ndarray:
    """(n, 3, 3) world-to-screen matrices of an eased pan and zoom; now and then locked off, unless `still`."""
    (ww, wh), (w, h) = world, size
    fit = max(w / ww, h / wh)
    zoom = fit * (rng.permutation([1.0, rng.uniform(1.15, 1.4)]) if still else rng.uniform(1.0, 1.35, 2))
    centre = rng.uniform(0.3, 0.7, (2, 2)) * (ww, wh)
    if not still and rng.random() < 0.3:
        zoom[1], centre[1] = zoom[0], centre[0]
    t = smoothstep(np.linspace(0, 1, n))
    z = zoom[0] + (zoom[1] - zoom[0]) * t
    c = centre[0] + np.outer(t, centre[1] - centre[0])
    half = np.stack([w / 2 / z, h / 2 / z], axis=1)
    c = np.clip(c, half, (ww, wh) - half)
    m = np.zeros((n, 3, 3))
    m[:, 0, 0] = m[:, 1, 1] = z
    m[:, :2, 2] = (w / 2, h / 2) - z[:, None] * c
    m[:, 2, 2] = 1
    return m


def _moves(rng, n: int, view, ground: float, height: float) -> np.ndarray:
    """(n, 5) rows of (x, y, x scale, y scale, degrees) of an actor `height` world px tall.

    (x, y) is where the centre of the drawing goes, in world px; the scales multiply its size (a negative x scale
    mirrors it to face the way it goes); feet stay on the `ground` line under squash and stretch."""
    x0, x1, y0, y1 = view
    t = np.arange(n) / FPS
    style = rng.choice(["walk", "fly", "jump", "spin", "pop"])
    facing = rng.choice([-1, 1])
    travel = {"walk": 1.0, "fly": 1.2, "jump": 0.4, "spin": 0.5, "pop": 0.0}[style] * rng.uniform(0.2, 0.5)
    x = x0 + (x1 - x0) * (rng.uniform(0.3, 0.7) + facing * travel * (t / t[-1] - 0.5))  # on screen mid-shot
    stretch, angle, size, lift = np.ones(n), np.zeros(n), np.ones(n), np.zeros(n)
    if style == "walk":
        step = np.pi * rng.uniform(1.5, 3.0) * t  # steps per second, one hop each
        lift = 0.08 * height * np.abs(np.sin(step))
        stretch = 1 + 0.08 * (2 * np.abs(np.sin(step)) - 1)
        angle = rng.uniform(2, 6) * np.cos(step)
    elif style == "jump":
        period = rng.uniform(0.8, 1.4)
        p = (t / period + rng.random()) % 1
        air = np.clip((p - 0.2) / 0.6, 0, 1)
        lift = rng.uniform(0.3, 0.8) * height * 4 * air * (1 - air)
        stretch = np.where(p < 0.2, 1 - 0.25 * np.sin(np.pi * p / 0.2),  # crouch before the jump
                           np.where(p > 0.8, 1 - 0.2 * np.sin(np.pi * (p - 0.8) / 0.2),  # land
                                    1 + 0.15 * (1 - 4 * air * (1 - air))))  # stretched at take-off and landing
    elif style == "fly":
        wave = rng.uniform(0.5, 1.5) * 2 * np.pi * t
        lift = (ground - y0) * rng.uniform(0.35, 0.6) + 0.1 * height * np.sin(wave)
        angle = -facing * 8 * np.cos(wave)
    elif style == "spin":
        angle = facing * 360 * rng.uniform(0.3, 1.0) * t
        lift = 0.1 * height * (1 + np.sin(2 * np.pi * t))
    else:  # pop in with overshoot, then wobble
        grow = np.clip((t - rng.uniform(0, 0.4) * t[-1]) / 0.4, 0, 1)
        size = 1 + 2.7 * (grow - 1) ** 3 + 1.7 * (grow - 1) ** 2  # ease-out-back: 0 -> 1.1 -> 1
        angle = 6 * np.sin(2 * np.pi * 0.7 * t)
        stretch = 1 + 0.04 * np.sin(2 * np.pi * 1.4 * t)
    y = ground - lift - height * size * stretch / 2
    return np.stack([x, y, facing * size / stretch, size * stretch, angle], axis=1)


def _place(shape, move, height: float) -> np.ndarray | None:
    """The 2x3 drawing-to-world matrix for one row of `_moves` (None while the actor is too small to see)."""
    x, y, sx, sy, degrees = move
    if height * sy < 2:
        return None
    a, s = np.radians(degrees), height / shape[0]
    m = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ np.diag([s * sx, s * sy])
    return np.hstack([m, (np.array([x, y]) - m @ (shape[1] / 2, shape[0] / 2))[:, None]])


def _scenery(rng, w: int, h: int) -> np.ndarray:
    """A painted backdrop: a flat or graded sky with hills, sun and clouds, a room, or a plain colour card."""

    def colour(s=(0.3, 0.8), v=(0.7, 1.0)):
        hsv = np.uint8([[[rng.integers(180), rng.uniform(*s) * 255, rng.uniform(*v) * 255]]])
        return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])

    top, bottom = np.array(colour()), np.array(colour())
    if rng.random() < 0.4:
        bottom = top
    img = (top + (bottom - top) * np.linspace(0, 1, h)[:, None, None] * np.ones((1, w, 1))).astype(np.uint8)
    img = np.ascontiguousarray(img)
    style = rng.choice(["outdoor", "outdoor", "room", "card"])
    if style == "outdoor":
        if rng.random() < 0.5:
            sun = (int(rng.uniform(0.1, 0.9) * w), int(rng.uniform(0.1, 0.35) * h))
            cv2.circle(img, sun, int(h * rng.uniform(0.05, 0.1)), colour((0.6, 1), (0.9, 1)), -1, cv2.LINE_AA)
        for _ in range(int(rng.integers(0, 5))):
            cx, cy, r = rng.uniform(0, w), rng.uniform(0.05, 0.4) * h, rng.uniform(0.03, 0.07) * h
            for dx in (-1.2, 0, 1.2):
                cv2.ellipse(img, (int(cx + dx * r), int(cy + (abs(dx) > 0) * r * 0.3)), (int(r * 1.3), int(r)), 0,
                            0, 360, (250, 250, 250), -1, cv2.LINE_AA)
        for _ in range(int(rng.integers(1, 4))):
            hill = colour((0.4, 0.9), (0.4, 0.85))
            centre = (int(rng.uniform(0, w)), int(rng.uniform(0.75, 0.95) * h))
            axes = (int(rng.uniform(0.3, 0.8) * w), int(rng.uniform(0.1, 0.3) * h))
            cv2.ellipse(img, centre, axes, 0, 180, 360, hill, -1, cv2.LINE_AA)
            cv2.ellipse(img, centre, axes, 0, 180, 360, tuple(c // 2 for c in hill), max(2, h // 150), cv2.LINE_AA)
        cv2.rectangle(img, (0, int(0.88 * h)), (w, h), colour((0.4, 0.9), (0.4, 0.8)), -1)
    elif style == "room":
        floor = int(rng.uniform(0.7, 0.85) * h)
        cv2.rectangle(img, (0, floor), (w, h), colour((0.2, 0.6), (0.4, 0.8)), -1)
        cv2.line(img, (0, floor), (w, floor), (40, 40, 40), max(2, h // 150), cv2.LINE_AA)
        x, y = int(rng.uniform(0.1, 0.7) * w), int(rng.uniform(0.1, 0.3) * h)
        cv2.rectangle(img, (x, y), (x + w // 5, y + h // 4), colour((0.3, 0.6), (0.85, 1.0)), -1)
        cv2.rectangle(img, (x, y), (x + w // 5, y + h // 4), (60, 40, 30), max(3, h // 100))
    return img


# ---- toon-shaded 3-D scenes -----------------------------------------------------------------------------------

_BLENDER_SCRIPT = """
import json, sys
import bpy
from mathutils import Vector

p = json.load(open(sys.argv[-1]))
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.engine = "BLENDER_WORKBENCH"
shading = scene.display.shading
shading.light, shading.studio_light, shading.color_type = "MATCAP", "toon.exr", "MATERIAL"
shading.show_object_outline, shading.object_outline_color = True, (0.05, 0.05, 0.05)
scene.view_settings.view_transform = "Standard"
scene.render.resolution_x, scene.render.resolution_y = p["size"]
scene.world = bpy.data.worlds.new("sky")
scene.world.color = p["sky"]

def add(kind, location, scale, colour, rotation=(0, 0, 0), parent=None, **options):
    getattr(bpy.ops.mesh, "primitive_%s_add" % kind)(location=location, rotation=rotation, **options)
    ob = bpy.context.object
    ob.scale = scale
    if kind != "cube" and kind != "plane":
        bpy.ops.object.shade_smooth()
    material = bpy.data.materials.new("paint")
    material.diffuse_color = list(colour) + [1]
    ob.data.materials.append(material)
    ob.parent = parent
    return ob

for prop in p["props"]:
    add(**prop)
actors = []
for colour in p["actors"]:
    body = add("uv_sphere", (0, 0, 0), (1, 1, 1), colour)
    for side in (-1, 1):
        eye = add("uv_sphere", (side * 0.35, -0.75, 0.3), (0.3, 0.2, 0.35), (1, 1, 1), parent=body)
        add("uv_sphere", (0, -0.7, 0.1), (0.45, 0.4, 0.45), (0.02, 0.02, 0.02), parent=eye)
    actors.append(body)
bpy.ops.object.camera_add()
camera = scene.camera = bpy.context.object
for i, frame in enumerate(p["frames"]):
    for body, (x, y, z, turn, sx, sz) in zip(actors, frame["actors"]):
        body.location, body.rotation_euler, body.scale = (x, y, z), (0, 0, turn), (sx, sx, sz)
    eye, target = Vector(frame["camera"][:3]), Vector(frame["camera"][3:])
    camera.location = eye
    camera.rotation_euler = (target - eye).to_track_quat("-Z", "Y").to_euler()
    scene.render.filepath = "%s/%04d.png" % (p["out"], i)
    bpy.ops.render.render(write_still=True)
"""


def _blender(art: _Art, rng, scene: str, size: tuple[int, int], bounds) -> list[np.ndarray]:
    """12 drawings per second of hopping blob characters in `scene`, rendered by Blender's Workbench with its
    toon matcap and outlines; `bounds` are the shots' first frames at 24 fps (and the end), a new camera each."""
    def colour(hue=(0, 180), s=(0.4, 0.9), v=(0.6, 1.0)):  # OpenCV's hues: 0..180
        hsv = np.uint8([[[rng.uniform(*hue), rng.uniform(*s) * 255, rng.uniform(*v) * 255]]])
        return [float(c) / 255 for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]]

    view = rng.uniform(0, 2 * np.pi)  # where the cameras look from; the props stand on the far side
    ground = colour(s=(0.1, 0.4), v=(0.7, 0.95)) if scene == "playroom" else colour((35, 70), (0.4, 0.7), (0.6, 0.9))
    props = [dict(kind="plane", location=(0, 0, 0), scale=(40, 40, 1), colour=ground)]
    for _ in range(int(rng.integers(4, 9))):
        a, r = view + np.pi + rng.uniform(-1.4, 1.4), rng.uniform(3.5, 9)
        x, y, k = r * np.cos(a), r * np.sin(a), rng.uniform(0.7, 1.4)
        if scene == "playroom":
            shape = rng.choice(["cube", "uv_sphere", "cone"])
            props.append(dict(kind=shape, location=(x, y, 0.6 * k), scale=(0.6 * k,) * 3, colour=colour(),
                              rotation=(0, 0, rng.uniform(0, np.pi))))
        elif scene == "village" and rng.random() < 0.6:
            turn = (0, 0, rng.uniform(0, np.pi))
            props.append(dict(kind="cube", location=(x, y, k), scale=(1.2 * k, k, k), colour=colour(), rotation=turn))
            props.append(dict(kind="cone", location=(x, y, 2.6 * k), scale=(1.9 * k, 1.6 * k, 0.6 * k),
                              colour=colour(), rotation=(0, 0, turn[2] + np.pi / 4), vertices=4))
        elif rng.random() < 0.75:  # a tree
            props.append(dict(kind="cylinder", location=(x, y, 0.7 * k), scale=(0.18 * k, 0.18 * k, 0.7 * k),
                              colour=[0.45, 0.28, 0.12]))
            crown = rng.choice(["ico_sphere", "cone"])
            props.append(dict(kind=crown, location=(x, y, 2.1 * k), scale=(0.9 * k, 0.9 * k, 1.1 * k),
                              colour=colour((10, 80), (0.5, 0.9), (0.4, 0.8))))
        else:  # a rock
            props.append(dict(kind="ico_sphere", location=(x, y, 0.1), scale=(0.6 * k, 0.5 * k, 0.35 * k),
                              colour=[0.55, 0.55, 0.58]))

    drawings = (bounds[-1] + 1) // 2
    t = np.arange(drawings) / 12
    cast = int(rng.integers(1, 4))
    start = rng.uniform(-1.5, 1.5, (cast, 2))
    velocity = rng.normal(0, 0.15, (cast, 2)) * (rng.random((cast, 1)) < 0.7)  # some bounce on the spot
    position = start[:, None] + velocity[:, None] * t[None, :, None]  # (cast, drawings, 2)
    hop = np.abs(np.sin(np.pi * rng.uniform(1.2, 2.5, (cast, 1)) * t + rng.uniform(0, np.pi, (cast, 1))))
    lift = rng.uniform(0.15, 0.6, (cast, 1)) * hop
    stretch = 1 + 0.15 * (2 * hop - 1)
    body = 0.5 * rng.uniform(0.8, 1.3, (cast, 1))
    shots = [(a // 2, (b + 1) // 2) for a, b in zip(bounds[:-1], bounds[1:])]
    cameras = np.zeros((drawings, 6))
    for a, b in shots:
        angle = view + rng.uniform(-0.8, 0.8) + rng.uniform(-0.3, 0.3) * np.linspace(0, 1, b - a)
        radius = rng.uniform(5, 11) + rng.uniform(-1.5, 1.5) * np.linspace(0, 1, b - a)
        target = position[:, (a + b) // 2].mean(axis=0)
        cameras[a:b] = np.stack([target[0] + radius * np.cos(angle), target[1] + radius * np.sin(angle),
                                 np.full(b - a, rng.uniform(0.8, 3.0)), np.full(b - a, target[0]),
                                 np.full(b - a, target[1]), np.full(b - a, 0.9)], axis=1)
    to_camera = cameras[None, :, :2] - position
    turn = np.where(np.hypot(*velocity.T)[:, None] > 0, np.arctan2(velocity[:, :1], -velocity[:, 1:]),
                    np.arctan2(to_camera[..., 0], -to_camera[..., 1]))  # eyes (-y) ahead, or to the camera
    height = body * 1.3 * stretch  # half the height of a body: a unit sphere, scaled
    poses = np.stack([position[..., 0], position[..., 1], lift + height, turn, body / np.sqrt(stretch), height], -1)
    frames = [dict(camera=cameras[k].tolist(), actors=poses[:, k].tolist()) for k in range(drawings)]

    out = Path(tempfile.mkdtemp(dir=art.work))
    params = dict(size=list(size), sky=colour((85, 115), (0.2, 0.6), (0.8, 1.0)), props=props,
                  actors=[colour() for _ in range(cast)], frames=frames, out=str(out))
    (out / "scene.json").write_text(json.dumps(params, default=float))
    script = art.work / "toon.py"
    script.write_text(_BLENDER_SCRIPT)
    r = subprocess.run(["blender", "-b", "--factory-startup", "--python", str(script), "--", str(out / "scene.json")],
                       capture_output=True, text=True, timeout=120 + 5 * drawings)
    images = [cv2.imread(str(out / f"{k:04d}.png"), cv2.IMREAD_COLOR) for k in range(drawings)]
    if r.returncode != 0 or any(i is None for i in images):
        raise CorpusError(f"blender could not render the {scene} scene: {r.stdout.strip()[-300:]}")
    return [np.ascontiguousarray(i[..., ::-1]) for i in images]
