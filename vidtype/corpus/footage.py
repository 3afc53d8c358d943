"""The maintainers' real-footage set (`shared/footage/`): turn its manifest into training manifests.

    vidtype corpus footage ../shared/footage --out runs/footage
writes `runs/footage/manifest.csv` (the four classes) and `runs/footage/ood.csv` (the out-of-distribution clips),
with paths relative to the output folder, `group` = the source repository (so no repository straddles a split),
and `source_format` kept for per-format evaluation. The clips stay where they are: nothing is copied.
"""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path

from ..store import CLASSES

KEEP = ("source_format", "src_group", "license", "source_repo")


def sha256(path: Path) -> str:
    """Hex sha256 of a file (the model card cites the footage manifest by it)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifests(footage: str | Path, out: str | Path) -> dict[str, Path]:
    """Write manifest.csv (in-distribution) and ood.csv under `out`; return their paths."""
    footage, out = Path(footage).resolve(), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = list(csv.DictReader(open(footage / "manifest.csv", newline="")))
    written = {}
    for name, keep in (("manifest.csv", lambda r: r["label"] in CLASSES), ("ood.csv", lambda r: r["label"] not in CLASSES)):
        target = out / name
        with open(target, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["path", "label", "group", *KEEP])
            for r in rows:
                if keep(r):
                    rel = os.path.relpath(footage / r["path"], out.resolve())
                    w.writerow([rel, r["label"], r["source_repo"], *(r[k] for k in KEEP)])
        written[name] = target
    return written
