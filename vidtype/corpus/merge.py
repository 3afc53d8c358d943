"""One training manifest from several corpora, each split on its own so that adding a corpus moves nothing.

    vidtype corpus merge runs/both.csv runs/footage/manifest.csv runs/recorded/manifest.csv --val 0.15 --test 0.2

Each part is split as `vidtype train` would split it alone (grouped by its `group`, stratified by class, the same
fractions and seed; splits a part already gives are kept), so the real footage's test split stays the one the
real-only model was tested on, and each corpus keeps its own test split. The merged manifest has the columns
path (relative to it), label, group (prefixed with the part's name: groups of two corpora never merge), split,
`corpus` (the part's name, for `vidtype evaluate --group-by corpus`) and every other column of the parts.

    vidtype corpus merge runs/test-recorded.csv runs/recorded/manifest.csv --only test   # an evaluation set
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

from ..store import CLASSES
from ..train.datasets import DatasetError, load_dataset, split_items


def part_name(path: Path) -> str:
    """A part's name: its folder's name when the file is a generic manifest.csv, else the file's stem."""
    return path.parent.name if path.stem == "manifest" else path.stem


def merge(out: str | Path, parts, val_fraction: float = 0.15, test_fraction: float = 0.2, seed: int = 0,
          only: str | None = None) -> Path:
    """Write the merged, split manifest `out` from the manifests `parts`; return its path. `only`: keep the rows
    of that split only (e.g. "test": an evaluation set of every part's test videos)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows, names, columns = [], set(), ["path", "label", "group", "split", "corpus"]
    for part in map(Path, parts):
        name = part_name(part)
        if name in names:
            raise DatasetError(f"two parts are named {name!r}: rename one manifest")
        names.add(name)
        for it in split_items(load_dataset(part, CLASSES), val_fraction, test_fraction, seed):
            if only and it.split != only:
                continue
            rel = Path(os.path.relpath(it.path, out.parent.resolve())).as_posix()
            rows.append({"path": rel, "label": it.label, "group": f"{name}:{it.group}", "split": it.split,
                         "corpus": name, **it.extra})
            columns += [k for k in it.extra if k not in columns]
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".tmp-", suffix=".csv")
    with os.fdopen(fd, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, restval="")
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, out)
    return out
