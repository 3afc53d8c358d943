"""What every recorded-corpus source shares: the Clip record, the manifest, licences, apt packages.

A source is a module of this package with
    NAME: str                 e.g. "games", "office", "synfig", "wallpapers"
    LABEL: str                one of vidtype.store.CLASSES
    APT: tuple[str, ...]      Debian packages it needs (installed by `ensure_apt` when missing)
    def clips(out_dir: Path, n: int, seed: int, done: set[str]) -> Iterator[Clip]
`clips` writes up to `n` clips under out_dir/<NAME>/ and yields a Clip for each as soon as it is on disk; clip
paths are deterministic in (seed, index), and a path already in `done` (the manifest of an earlier run) is
skipped without work, which is what makes a build resumable.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, fields
from pathlib import Path

FIELDS = ("path", "label", "source", "group", "license")


class CorpusError(RuntimeError):
    """A corpus source cannot run here (a package cannot be installed, a program failed)."""


@dataclass(frozen=True)
class Clip:
    path: str     # relative to the corpus folder
    label: str    # animation | gaming | natural | flat
    source: str   # the program or package the clip came from, e.g. "supertux"
    group: str    # split group: clips of one group never straddle train and test
    license: str  # the licence of what is shown, from the package's copyright file


def read_manifest(out_dir: Path) -> list[dict]:
    """The rows of out_dir/manifest.csv ([] when there is none yet)."""
    path = Path(out_dir) / "manifest.csv"
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def append_clip(out_dir: Path, clip: Clip) -> None:
    """Append one row to out_dir/manifest.csv (header written first), flushed to disk before returning."""
    path = Path(out_dir) / "manifest.csv"
    new = not path.is_file() or path.stat().st_size == 0
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[x.name for x in fields(Clip)])
        if new:
            w.writeheader()
        w.writerow(asdict(clip))
        f.flush()
        os.fsync(f.fileno())


def write_clip_atomically(target: Path, frames, fps: float) -> Path:
    """Encode `frames` (see train.synthetic.write_clip) into a hidden temporary file beside `target`, then rename
    it: a failed or killed build leaves no half-written clip."""
    from ...train.synthetic import write_clip

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(".tmp-" + target.name)
    try:
        write_clip(tmp, frames, fps)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def smoothstep(t):
    """Ease-in-out of t in 0..1 (numbers or arrays): camera moves that start and stop gently."""
    return t * t * (3 - 2 * t)


def package_license(package: str) -> str:
    """The licence names of a Debian package, from /usr/share/doc/<package>/copyright ("unknown" if absent)."""
    path = Path("/usr/share/doc") / package / "copyright"
    if not path.is_file():
        return "unknown"
    names = []
    for line in path.read_text(errors="replace").splitlines():
        m = re.match(r"^License:\s*(\S.*)$", line)
        if m and m.group(1).strip() not in names:
            names.append(m.group(1).strip())
    return " / ".join(names[:4]) or "see /usr/share/doc/%s/copyright" % package


def missing_apt(packages) -> list[str]:
    """The Debian packages of `packages` that are not installed."""
    out = []
    for p in packages:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True)
        if "install ok installed" not in r.stdout:
            out.append(p)
    return out


def ensure_apt(packages) -> None:
    """Install the missing Debian packages with apt-get (needs root); CorpusError when that is impossible."""
    missing = missing_apt(packages)
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise CorpusError(f"needs Debian packages {' '.join(missing)}: run `sudo apt-get install {' '.join(missing)}`")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=600",
                        *missing], env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise CorpusError(f"apt-get install {' '.join(missing)} failed: {r.stderr.strip()[-500:]}")
