"""Recording real programs: a virtual X display (Xvfb), programs started on it, ffmpeg's x11grab, xdotool.

    with virtual_display((1280, 720)) as display:
        app = launch(display, ["xterm", "-geometry", "160x45+0+0"])
        recorder = start_recording(display, tmp_path, seconds=6, size=(1280, 720), out_size=(960, 540))
        xdotool(display, "type", "--delay", "80", "ls -la\n")
        finish_recording(recorder, final_path)
        stop(app)

Everything runs in its own process group and is killed on exit, so a crashed program never outlives the build.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from .base import CorpusError

APT = ("xvfb", "xdotool", "ffmpeg", "x11-utils")


def _free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise CorpusError("no free X display number between :90 and :199")


@contextmanager
def virtual_display(size: tuple[int, int] = (1280, 720), depth: int = 24):
    """Start Xvfb at `size` (width, height) and yield its DISPLAY (":N"); it is stopped on exit."""
    if not shutil.which("Xvfb"):
        raise CorpusError("Xvfb is not installed (apt-get install xvfb)")
    n = _free_display()
    display = f":{n}"
    proc = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{size[0]}x{size[1]}x{depth}", "-nolisten", "tcp",
                             "+extension", "GLX", "+render", "-noreset"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 15
        while not Path(f"/tmp/.X11-unix/X{n}").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise CorpusError(f"Xvfb {display} did not start")
            time.sleep(0.1)
        yield display
    finally:
        stop(proc)


def display_env(display: str, **extra: str) -> dict[str, str]:
    """The environment for a program on `display` (software OpenGL, no sound device, no desktop bus)."""
    env = dict(os.environ, DISPLAY=display, LIBGL_ALWAYS_SOFTWARE="1", SDL_AUDIODRIVER="dummy",
               ALSOFT_DRIVERS="null", NO_AT_BRIDGE="1")
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    env.update(extra)
    return env


def launch(display: str, argv: list[str], *, cwd: str | Path | None = None, env: dict | None = None,
           log: str | Path | None = None) -> subprocess.Popen:
    """Start `argv` on `display` in a new process group (its output goes to `log`, or is dropped)."""
    out = open(log, "ab") if log else subprocess.DEVNULL
    try:
        return subprocess.Popen(argv, cwd=cwd, env=env or display_env(display), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    except FileNotFoundError as e:
        raise CorpusError(f"{argv[0]} is not installed") from e
    finally:
        if log:
            out.close()


def stop(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """Terminate `proc`'s whole process group, killing it after `grace` seconds."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def xdotool(display: str, *args: str, check: bool = False) -> str:
    """Run `xdotool ARGS` on `display` and return its output (errors are ignored unless `check`)."""
    r = subprocess.run(["xdotool", *args], env=display_env(display), capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise CorpusError(f"xdotool {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def wait_for_window(display: str, name: str | None = None, timeout: float = 30.0,
                    proc: subprocess.Popen | None = None) -> str | None:
    """Wait until a visible window (whose title matches `name`, or any) exists; its id, or None on timeout.
    Any window is searched by class: xdotool's --name search misses the UTF-8 titles of SDL2 windows. With
    `proc`, a program that exits before showing a window raises CorpusError at once."""
    deadline = time.monotonic() + timeout
    args = ["search", "--onlyvisible"] + (["--name", name] if name else ["--class", "."])
    while time.monotonic() < deadline:
        ids = xdotool(display, *args).split()
        if ids:
            return ids[-1]
        if proc is not None and proc.poll() is not None:
            raise CorpusError(f"{proc.args[0]} exited (status {proc.returncode}) before showing a window")
        time.sleep(0.3)
    return None


def start_recording(display: str, out: str | Path, seconds: float, size: tuple[int, int],
                    out_size: tuple[int, int] | None = None, fps: int = 25, offset: tuple[int, int] = (0, 0)
                    ) -> subprocess.Popen:
    """Start ffmpeg grabbing `size` pixels at `offset` of `display` for `seconds` into `out` (H.264, yuv420p,
    scaled to `out_size`). Returns at once; `finish_recording` waits for it."""
    if not shutil.which("ffmpeg"):
        raise CorpusError("ffmpeg is not installed (apt-get install ffmpeg)")
    vf = ["-vf", f"scale={out_size[0]}:{out_size[1]}:flags=area"] if out_size else []
    argv = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "x11grab", "-draw_mouse", "1",
            "-framerate", str(fps), "-video_size", f"{size[0]}x{size[1]}", "-i", f"{display}+{offset[0]},{offset[1]}",
            "-t", f"{seconds:.2f}", *vf, "-r", str(fps), "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
            "-pix_fmt", "yuv420p", "-an", "-movflags", "+faststart", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def finish_recording(recorder: subprocess.Popen, final: str | Path, timeout: float = 120.0) -> Path:
    """Wait for the recording to end and move it to `final` (atomically); CorpusError if ffmpeg failed."""
    try:
        _, err = recorder.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(recorder)
        raise CorpusError("ffmpeg x11grab did not finish in time")
    tmp = Path(recorder.args[-1])
    if recorder.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        raise CorpusError(f"ffmpeg x11grab failed: {(err or b'').decode(errors='replace').strip()[-300:]}")
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, final)
    return final


def record(display: str, final: str | Path, seconds: float, size: tuple[int, int],
           out_size: tuple[int, int] | None = None, act=None, fps: int = 25) -> Path:
    """Record `display` for `seconds` into `final` while `act(deadline)` (optional) drives the program; the
    recording is written to a hidden temporary file beside `final` first, so a killed build leaves no clip."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(".tmp-" + final.name)
    recorder = start_recording(display, tmp, seconds, size, out_size, fps)
    try:
        if act is not None:
            act(time.monotonic() + seconds)
    except BaseException:
        stop(recorder)
        tmp.unlink(missing_ok=True)
        raise
    return finish_recording(recorder, final, timeout=seconds + 60)
