"""Gaming clips: real Debian games under Xvfb with software OpenGL, played by random key presses and mouse moves.

    neverball        3D   tilt-the-floor ball game: a random level started with `-l`, tilted by mouse and arrows
    extremetuxracer  3D   downhill racing: Practice on a random course (through the menus), steered with the arrows
    armagetronad     3D   light cycles: a fresh configuration drops a new player straight into a game against an
                          AI; turns, brakes and camera switches
    minetest         3D   voxel sandbox (Minetest Game): a new world of random seed, map generator and daytime,
                          walked through, jumped and looked around in with the mouse
    chromium-bsu     2.5D vertical shooter (OpenGL): a new game, the ship moved by the mouse while firing
    supertux         2D   platformer: a random level of the story worlds started from the command line, run and
                          jumped through

Clip i is game GAMES[i % len(GAMES)] (of those chosen); `random.Random(f"{seed}:{i}")` picks its level or world,
the display size (the clip's size, 640x360 to 960x540; chromium-bsu 640x480 or 800x600), the duration (4-10 s) and
the key presses.
Every clip gets a fresh Xvfb and a fresh HOME (extremetuxracer alone keeps ~/.etr: it looks up the home folder
itself); the game's menus are passed with scripted keys, and recording starts once the picture is drawn. A clip
whose game fails (no window, an early exit, a black picture, a picture that stands still for half the clip) is
logged and skipped; a game that fails MAX_FAILURES times is left out for the rest of the run.

Cost on a shared 2-core machine with llvmpipe: 2-12 s of start-up and menus (extremetuxracer and minetest the
longest) plus the clip itself: 8-21 s per clip, 15 s on average. The games draw from about 8 (minetest) to 60
frames per second there; the recording grabs 25.
"""

from __future__ import annotations

import logging
import random
import subprocess
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from itertools import count
from pathlib import Path
from typing import Callable, Iterator

import av
import numpy as np

from . import xrecord
from .base import Clip, CorpusError, ensure_apt, package_license

log = logging.getLogger(__name__)

NAME = "games"
LABEL = "gaming"
MAX_FAILURES = 3
WIDE = ((640, 360), (854, 480), (960, 540))


@dataclass(frozen=True)
class Game:
    """A game, how to start it and which keys play it."""

    name: str
    package: str                      # the Debian package that installs the game
    data: str                         # the package whose copyright file covers what is shown
    start: Callable[[Path, random.Random, tuple[int, int]], list[str]]  # writes its configuration under HOME; argv
    enter: Callable[[str, random.Random, Path], None]  # (display, rng, log): from the first window into play
    sizes: tuple[tuple[int, int], ...] = WIDE
    go: tuple[str, ...] = ()          # one of these is held for the whole clip ("" holds nothing)
    hold: tuple[str, ...] = ()        # keys held for a moment now and then
    tap: tuple[str, ...] = ()         # keys tapped now and then
    mouse: int = 0                    # pixels of a mouse sweep (0: the pointer rests in a corner)
    fire: bool = False                # hold the left mouse button for the whole clip


def _keys(display: str, *steps) -> None:
    """Press keys in turn; a number in `steps` is a pause in seconds."""
    for s in steps:
        if isinstance(s, (int, float)):
            time.sleep(s)
        else:
            xrecord.xdotool(display, "key", s)


def _wait_log(path: Path, text: str, timeout: float, nudge: Callable[[], object] | None = None) -> None:
    """Wait until the game's output holds `text`, calling `nudge` (a key press, say) every second meanwhile."""
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise CorpusError(f"no {text!r} in the game's output after {timeout:.0f} s")
        if nudge:
            nudge()
        time.sleep(1)


# --- the games ---------------------------------------------------------------------------------------------------

NEVERBALL = Path("/usr/share/games/neverball")


def _neverball(home: Path, rng: random.Random, size: tuple[int, int]) -> list[str]:
    (home / ".neverball").mkdir()
    (home / ".neverball" / "neverballrc").write_text(
        f"width {size[0]}\nheight {size[1]}\nfullscreen 0\nreflection 0\n")
    levels = sorted(p.relative_to(NEVERBALL).as_posix() for p in NEVERBALL.glob("map-*/*.sol")
                    if p.parent.name not in ("map-back", "map-misc"))
    if not levels:
        raise CorpusError(f"no neverball levels under {NEVERBALL}")
    return ["/usr/games/neverball", "-l", rng.choice(levels)]


def _enter_neverball(display: str, rng: random.Random, log: Path) -> None:
    for pause in (2, 1, 0.7):  # clicks past "Click to begin", "Ready?" and "Set?"
        time.sleep(pause)
        xrecord.xdotool(display, "click", "1")
    time.sleep(1)


def _etr(home: Path, rng: random.Random, size: tuple[int, int]) -> list[str]:
    return ["/usr/games/etr"]  # it takes the display's size


def _enter_etr(display: str, rng: random.Random, log: Path) -> None:
    # splash, main menu > Practice, Down moves through the 22 courses of the default group, Race!
    _keys(display, 3, "Return", 1.5, "Down", "Return", 2, *["Down"] * rng.randrange(22), 0.5, "Return", 3)


def _armagetronad(home: Path, rng: random.Random, size: tuple[int, int]) -> list[str]:
    (home / "cfg").mkdir()
    (home / "var").mkdir()
    # 14 is the custom size: "ArmageTron_Custom" in the game's rScreen.h
    (home / "cfg" / "autoexec.cfg").write_text(
        f"ARMAGETRON_WINDOWSIZE 14\nARMAGETRON_SCREENMODE 14\nCUSTOM_SCREEN_WIDTH {size[0]}\n"
        f"CUSTOM_SCREEN_HEIGHT {size[1]}\nFULLSCREEN 0\n")
    return ["/usr/games/armagetronad", "-w", "--userconfigdir", str(home / "cfg"), "--vardir", str(home / "var")]


def _enter_armagetronad(display: str, rng: random.Random, log: Path) -> None:
    # first use: language, player setup, a welcome screen, then a local game starts by itself (Return later
    # opens the chat, so it is never pressed in play)
    _keys(display, 2, "Return", 1, "Return", 1.5, "Return", 3)


def _minetest(home: Path, rng: random.Random, size: tuple[int, int]) -> list[str]:
    world = home / "world"
    world.mkdir()
    (world / "world.mt").write_text("gameid = minetest\n")
    conf = home / "minetest.conf"
    conf.write_text(f"screen_w = {size[0]}\nscreen_h = {size[1]}\nenable_sound = false\nviewing_range = 100\n"
                    f"fixed_map_seed = {rng.randrange(2**31)}\n"
                    f"mg_name = {rng.choice(['v7', 'valleys', 'carpathian', 'v5', 'fractal'])}\n"
                    f"world_start_time = {rng.randrange(6500, 16000)}\n"
                    f"creative_mode = {rng.choice(['true', 'false'])}\nenable_damage = false\n")
    return ["/usr/games/minetest", "--config", str(conf), "--go", "--gameid", "minetest", "--world", str(world),
            "--name", "player"]


def _enter_minetest(display: str, rng: random.Random, log: Path) -> None:
    _wait_log(log, "joins game", 90)
    time.sleep(3)  # the first map blocks


def _chromium_bsu(home: Path, rng: random.Random, size: tuple[int, int]) -> list[str]:
    return ["/usr/games/chromium-bsu", "-w", "-na", "-v", {640: "1", 800: "2"}[size[0]]]


def _enter_chromium_bsu(display: str, rng: random.Random, log: Path) -> None:
    _keys(display, 2, "Return", 2)  # "new game"


SUPERTUX = Path("/usr/share/games/supertux2/levels")


def _supertux(home: Path, rng: random.Random, size: tuple[int, int]) -> list[str]:
    levels = sorted(p for w in ("world1", "world2") for p in (SUPERTUX / w).glob("*.stl")
                    if "cutscene" not in p.name and "intro" not in p.name)
    if not levels:
        raise CorpusError(f"no supertux levels under {SUPERTUX}")
    return ["/usr/games/supertux2", "-w", "-g", f"{size[0]}x{size[1]}", "--disable-sound", "--disable-music",
            "--verbose", str(rng.choice(levels))]


def _enter_supertux(display: str, rng: random.Random, log: Path) -> None:
    # the level's title screen waits for a key; --verbose logs the change of status
    _wait_log(log, "Watching a cutscene", 60)
    _wait_log(log, "Setting status: Playing", 20, lambda: xrecord.xdotool(display, "key", "Return"))
    time.sleep(1)  # the fade-in


GAMES = (
    Game("neverball", "neverball", "neverball-data", _neverball, _enter_neverball,
         go=("Up", "Up", ""), hold=("Left", "Right", "Down", "s", "d"), tap=("1", "2", "3"), mouse=60),
    Game("extremetuxracer", "extremetuxracer", "extremetuxracer-data", _etr, _enter_etr,
         go=("Up", ""), hold=("Left", "Right", "Left", "Right", "Down"), tap=("space",)),
    Game("armagetronad", "armagetronad", "armagetronad-common", _armagetronad, _enter_armagetronad,
         hold=("Down",), tap=("Left", "Right", "Left", "Right", "c")),
    Game("minetest", "minetest", "minetest-data", _minetest, _enter_minetest,
         go=("w", "w", ""), hold=("a", "d", "s", "space"), tap=("space", "1", "2", "3"), mouse=240),
    Game("chromium-bsu", "chromium-bsu", "chromium-bsu-data", _chromium_bsu, _enter_chromium_bsu,
         sizes=((640, 480), (800, 600)), hold=("Left", "Right", "Up", "Down"), mouse=200, fire=True),
    Game("supertux", "supertux", "supertux-data", _supertux, _enter_supertux,
         go=("Right",), hold=("space", "space", "Left", "Down", "Control_L"), tap=("space", "Up")),
)

APT = tuple(dict.fromkeys(xrecord.APT + tuple(g.package for g in GAMES)))


# --- recording ---------------------------------------------------------------------------------------------------

def _brightness(display: str, size: tuple[int, int]) -> float:
    """Mean luminance (0-255) of the display, from one grabbed frame shrunk to 64x36."""
    r = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "x11grab", "-video_size",
                        f"{size[0]}x{size[1]}", "-i", display, "-frames:v", "1", "-vf", "scale=64:36",
                        "-pix_fmt", "gray", "-f", "rawvideo", "-"], capture_output=True, timeout=30)
    return sum(r.stdout) / len(r.stdout) if r.stdout else 0.0


def _wait_drawn(display: str, size: tuple[int, int], timeout: float) -> None:
    # 2 is above a black loading screen with a title on it, below armagetronad's dark arena
    deadline = time.monotonic() + timeout
    while _brightness(display, size) <= 2:
        if time.monotonic() > deadline:
            raise CorpusError(f"the picture is still black after {timeout:.0f} s")
        time.sleep(0.5)


def _play(display: str, game: Game, rng: random.Random, size: tuple[int, int], deadline: float) -> None:
    """Press the game's keys and sweep its mouse at random until `deadline`."""
    x = partial(xrecord.xdotool, display)
    go = rng.choice(game.go) if game.go else ""
    if go:
        x("keydown", go)
    if game.fire:
        x("mousedown", "1")
    while (left := deadline - time.monotonic()) > 0.3:
        r = rng.random()
        if r < 0.4 and game.hold:
            key = rng.choice(game.hold)
            x("keydown", key)
            time.sleep(min(left, rng.uniform(0.2, 1.2)))
            x("keyup", key)
        elif r < 0.7 and game.tap:
            x("key", rng.choice(game.tap))
        elif game.mouse:
            dx, dy = rng.randint(-game.mouse, game.mouse), rng.randint(-game.mouse, game.mouse) // 2
            for _ in range(8):
                x("mousemove_relative", "--", str(dx // 8), str(dy // 8))
                time.sleep(0.04)
        time.sleep(rng.uniform(0.05, 0.4))


def _stillness(path: Path) -> float:
    """The share of half-second steps of the clip over which the picture stays (almost) the same."""
    frames, t = [], 0.0
    with av.open(str(path)) as f:
        for fr in f.decode(video=0):
            if fr.time >= t:
                frames.append(np.float32(fr.to_ndarray(width=160, height=90, format="gray")))
                t = fr.time + 0.5
    steps = [np.abs(a - b).mean() for a, b in zip(frames, frames[1:])]
    return sum(d < 1.0 for d in steps) / max(len(steps), 1)


def _record(game: Game, final: Path, rng: random.Random, seconds: float, size: tuple[int, int]) -> None:
    """Start `game` on a fresh display of `size`, get it into play and record `seconds` of it into `final`."""
    with tempfile.TemporaryDirectory(prefix=f"vidtype-{game.name}-") as tmp, \
            xrecord.virtual_display(size) as display:
        home, out = Path(tmp) / "home", Path(tmp) / "game.log"
        home.mkdir()
        argv = game.start(home, rng, size)
        env = xrecord.display_env(display, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                                  XDG_DATA_HOME=str(home / ".local/share"), XDG_CACHE_HOME=str(home / ".cache"))
        proc = xrecord.launch(display, argv, cwd=home, env=env, log=out)
        try:
            window = xrecord.wait_for_window(display, timeout=60, proc=proc)
            if window is None:
                raise CorpusError("no window after 60 s")
            xrecord.xdotool(display, "windowfocus", window)  # some games (minetest) ignore keys without focus
            if not game.mouse:
                xrecord.xdotool(display, "mousemove", str(size[0] - 1), str(size[1] - 1))
            game.enter(display, rng, out)
            _wait_drawn(display, size, 30)
            if proc.poll() is not None:
                raise CorpusError(f"the game exited (status {proc.returncode})")
            xrecord.record(display, final, seconds, size, act=lambda deadline: _play(display, game, rng, size,
                                                                                       deadline))
            if proc.poll() is not None:  # it crashed while being recorded: the clip may end on a blank screen
                final.unlink(missing_ok=True)
                raise CorpusError(f"the game exited while recording (status {proc.returncode})")
            if _stillness(final) > 0.5:  # a menu, a pause, a stalled game
                final.unlink()
                raise CorpusError("the picture hardly moves")
        except CorpusError as e:
            tail = out.read_text(errors="replace")[-300:].strip()
            raise CorpusError(f"{e}; its output ends: {tail}" if tail else str(e)) from e
        finally:
            xrecord.stop(proc)


def clips(out_dir: Path, n: int, seed: int, done: set[str], *, seconds: float | None = None,
          size: tuple[int, int] | None = None, games: tuple[str, ...] | None = None) -> Iterator[Clip]:
    """Record up to `n` gameplay clips into out_dir/games/ (clips listed in `done` count, without work).

    `seconds`, `size` and `games` (names) override the random duration, the display size and the game list (for
    quick tests); a game that does not support `size` is recorded at its own."""
    chosen = [g for g in GAMES if games is None or g.name in games]
    if not chosen:
        raise CorpusError(f"no such game among {', '.join(g.name for g in GAMES)}")
    ensure_apt(tuple(dict.fromkeys(xrecord.APT + tuple(g.package for g in chosen))))
    failures = {g.name: 0 for g in chosen}
    made = 0
    for i in count():
        if made >= n or all(f >= MAX_FAILURES for f in failures.values()):
            break
        game = chosen[i % len(chosen)]
        path = f"{NAME}/{game.name}_{seed}_{i:04d}.mp4"
        if path in done:
            made += 1
            continue
        if failures[game.name] >= MAX_FAILURES:
            continue
        rng = random.Random(f"{seed}:{i}")
        clip_size = size if size and game.sizes is WIDE else rng.choice(game.sizes)
        duration = seconds or round(rng.uniform(4, 10), 1)
        t0 = time.monotonic()
        try:
            _record(game, Path(out_dir) / path, rng, duration, clip_size)
        except (CorpusError, subprocess.SubprocessError, OSError) as e:
            failures[game.name] += 1
            log.warning("games: %s clip %d failed (%d/%d): %s", game.name, i, failures[game.name], MAX_FAILURES, e)
            continue
        log.info("games: %s %.1f s clip in %.0f s", path, duration, time.monotonic() - t0)
        made += 1
        yield Clip(path, LABEL, game.name, f"game:{game.name}", package_license(game.data))
    if made < n:
        raise CorpusError(f"only {made} of {n} game clips: every game failed {MAX_FAILURES} times")
