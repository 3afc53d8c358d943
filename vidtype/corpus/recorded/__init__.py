"""The recorded corpus: short clips of real programs and packaged material, a recipe anyone can rerun.

    vidtype corpus build runs/recorded --per-class 60            # every source, about 60 clips per class
    vidtype corpus build runs/recorded --per-class 4 --sources games,photos

One module per source (the interface is in base.py):
  games      gaming     Debian games under Xvfb with software OpenGL, played by scripted key presses
  desktop    flat       LibreOffice Impress/Calc/Writer, a PDF viewer, Chromium, terminals and editors under Xvfb
  animation  animation  synfig's example animations and cut-out animation of packaged clip art
  photos     natural    photographs from Debian wallpaper packages as camera-like footage (pan, zoom, shake,
                        motion blur, sensor noise, exposure drift)
The build installs the Debian packages a source needs (root), writes OUT/<source>/*.mp4 and appends each clip to
OUT/manifest.csv (path,label,source,group,license) as soon as it is on disk: a killed build loses at most the
clip it was recording, and a rerun skips every clip already listed. OUT/build.json records seconds per source.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import time
from pathlib import Path

from .base import Clip, CorpusError, append_clip, ensure_apt, read_manifest

log = logging.getLogger(__name__)

SOURCES = ("games", "desktop", "animation", "photos")


def source(name: str):
    """The module of the source `name` (one of SOURCES)."""
    if name not in SOURCES:
        raise CorpusError(f"unknown corpus source {name!r}; known: {', '.join(SOURCES)}")
    return importlib.import_module(f"{__name__}.{name}")


def packages(sources=SOURCES) -> list[str]:
    """Every Debian package the chosen sources need (what `scripts/setup.sh --corpus` installs)."""
    from .xrecord import APT as X_APT

    return sorted({p for s in sources for p in source(s).APT} | set(X_APT))


def build(out_dir: str | Path, per_class: int = 60, sources=SOURCES, seed: int = 0, progress: bool = True) -> Path:
    """Record the corpus into `out_dir` (resumably) and return its manifest.csv.

    Each class's `per_class` clips are shared evenly among the chosen sources of that class. A source that
    cannot run here (a package that cannot be installed, a program that fails) is reported and skipped.
    """
    from ...train.progress import progress_bar

    modules = [source(s) for s in sources]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    per_label = {}
    for m in modules:
        per_label[m.LABEL] = per_label.get(m.LABEL, 0) + 1
    listed = {r["path"] for r in read_manifest(out) if (out / r["path"]).is_file()}
    plan = {m.NAME: math.ceil(per_class / per_label[m.LABEL]) for m in modules}
    done_before = {m.NAME: sum(p.startswith(m.NAME + "/") for p in listed) for m in modules}
    bar = progress_bar(sum(plan.values()), "record", "clip", progress,
                       initial=sum(min(done_before[k], n) for k, n in plan.items()))
    report_file = out / "build.json"
    report = json.loads(report_file.read_text()) if report_file.is_file() else {}
    try:
        for m in modules:
            t0, made = time.perf_counter(), 0
            try:
                ensure_apt(m.APT)
                for clip in m.clips(out, plan[m.NAME], seed, listed):
                    append_clip(out, clip)
                    listed.add(clip.path)
                    made += 1
                    bar.update()
                error = None
            except CorpusError as e:
                log.warning("corpus source %s skipped: %s", m.NAME, e)
                error = str(e)
            entry = report.get(m.NAME, {})
            seconds = entry.get("seconds", 0.0) + time.perf_counter() - t0
            recorded = entry.get("recorded", 0) + made  # over every run of the build, for seconds per clip
            report[m.NAME] = {"label": m.LABEL, "planned": plan[m.NAME], "clips": done_before[m.NAME] + made,
                              "recorded": recorded, "seconds": round(seconds, 1),
                              "seconds_per_clip": round(seconds / recorded, 1) if recorded else None,
                              "error": error}
            report_file.write_text(json.dumps(report, indent=2))
    finally:
        bar.close()
    return out / "manifest.csv"


__all__ = ["SOURCES", "Clip", "CorpusError", "build", "packages", "source"]
