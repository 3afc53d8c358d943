"""Labelled video datasets: reading them, and splitting them into train/val/test without leaking groups.

Two layouts are read by `load_dataset(DATA)`:

    DATA/animation/*.mp4, DATA/gaming/*.mp4, ...      a folder per class; a sub-folder inside a class folder
    DATA/gaming/minecraft/*.mp4                       is a *group* (clips of one source video or game)
    manifest.csv / manifest.parquet                   columns path,label[,split,group,...]; paths relative
                                                      to the manifest; any other column (e.g. source_format)
                                                      is kept in `Item.extra` for per-group evaluation

Items are identified by `rel`, their path relative to the dataset root: that is what split.csv records, so a
split stays valid when the data moves.
"""

from __future__ import annotations

import csv
import os
import random
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import VidtypeError
from ..store import CLASSES

VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".gif", ".flv", ".wmv", ".mpg", ".mpeg",
                    ".ts", ".m2ts", ".3gp", ".ogv", ".apng", ".webp"}
SPLITS = ("train", "val", "test")


class DatasetError(VidtypeError):
    """The dataset folder or manifest cannot be used."""

    code = "dataset_error"


@dataclass
class Item:
    """One labelled video."""

    path: Path  # absolute
    rel: str  # path relative to the dataset root (posix), the item's identity in split.csv
    label: str
    group: str  # items of one group always land in the same split
    split: str | None = None
    extra: dict[str, str] = field(default_factory=dict)  # manifest columns beyond path,label,split,group

    def column(self, name: str) -> str:
        """A grouping value for evaluation: a manifest column, or `ext`, `group`, `label`."""
        if name in self.extra:
            return self.extra[name]
        if name == "ext":
            return self.path.suffix.lower().lstrip(".") or "none"
        if name in ("group", "label", "split"):
            return str(getattr(self, name))
        raise DatasetError(f"no column {name!r} for {self.rel} (columns: {', '.join(sorted(self.extra)) or 'none'})")


def load_dataset(data: str | Path, classes: tuple[str, ...] = CLASSES) -> list[Item]:
    """Read a class-folder dataset or a CSV/Parquet manifest; items sorted by `rel`."""
    data = Path(data)
    if data.is_dir():
        items = _from_folders(data, classes)
    elif data.is_file() and data.suffix.lower() in (".csv", ".parquet", ".pq"):
        items = _from_manifest(data, classes)
    else:
        raise DatasetError(f"{data} is neither a folder of class folders nor a .csv/.parquet manifest")
    if not items:
        raise DatasetError(f"no videos found in {data} (expected {'/'.join(classes)} folders or manifest rows)")
    return sorted(items, key=lambda it: it.rel)


def _from_folders(root: Path, classes: tuple[str, ...]) -> list[Item]:
    present = [c for c in classes if (root / c).is_dir()]
    if not present:
        raise DatasetError(f"{root} has none of the class folders {', '.join(classes)}")
    items = []
    for label in present:
        for p in sorted((root / label).rglob("*")):
            if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS and not p.name.startswith("."):
                rel = p.relative_to(root).as_posix()
                parent = p.parent.relative_to(root).as_posix()
                group = parent if parent != label else rel
                items.append(Item(p.resolve(), rel, label, group))
    return items


def read_table(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV or Parquet file as dicts of strings (missing values: "")."""
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        table = pq.read_table(path).to_pylist()
        return [{k: ("" if v is None else str(v)) for k, v in row.items()} for row in table]
    with open(path, newline="") as f:
        return [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(f)]


def _from_manifest(path: Path, classes: tuple[str, ...]) -> list[Item]:
    rows = read_table(path)
    if rows and not {"path", "label"} <= set(rows[0]):
        raise DatasetError(f"{path}: a manifest needs columns path,label[,split,group] (has {', '.join(rows[0])})")
    root = path.parent
    items, seen = [], set()
    for n, row in enumerate(rows, start=2):
        label, split = row["label"], row.get("split") or None
        if label not in classes:
            raise DatasetError(f"{path}:{n}: unknown label {label!r} (classes: {', '.join(classes)})")
        if split is not None and split not in SPLITS:
            raise DatasetError(f"{path}:{n}: unknown split {split!r} (use {', '.join(SPLITS)} or leave empty)")
        p = Path(row["path"])
        full = (p if p.is_absolute() else root / p).resolve()
        rel = Path(row["path"]).as_posix()
        if rel in seen:
            raise DatasetError(f"{path}:{n}: {rel} is listed twice")
        seen.add(rel)
        extra = {k: v for k, v in row.items() if k not in ("path", "label", "split", "group")}
        items.append(Item(full, rel, label, row.get("group") or rel, split, extra))
    return items


def split_items(items: list[Item], val_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0) -> list[Item]:
    """Assign every item a split, stratified by class and never cutting a group across splits.

    Splits already given (a manifest's `split` column) are kept, and pin their whole group. The rest is
    assigned group by group (largest first, ties in seeded random order) to the split whose per-class count
    lags furthest behind its target. Deterministic for a given seed.
    """
    groups: dict[str, list[Item]] = defaultdict(list)
    for it in items:
        groups[it.group].append(it)
    targets = {"train": 1.0 - val_fraction - test_fraction, "val": val_fraction, "test": test_fraction}
    if min(targets.values()) < 0:
        raise DatasetError(f"val_fraction + test_fraction must be at most 1 (got {val_fraction} + {test_fraction})")
    totals = Counter(it.label for it in items)
    counts = {s: Counter() for s in SPLITS}
    free = []
    for name in sorted(groups):
        members = groups[name]
        fixed = {it.split for it in members if it.split}
        if len(fixed) > 1:
            raise DatasetError(f"group {name!r} is given several splits ({', '.join(sorted(fixed))})")
        if fixed:
            split = fixed.pop()
            for it in members:
                it.split = split
                counts[split][it.label] += 1
        else:
            free.append(name)
    rng = random.Random(seed)
    rng.shuffle(free)
    free.sort(key=lambda g: -len(groups[g]))  # stable: equal sizes keep their shuffled order
    for name in free:
        members = groups[name]
        labels = Counter(it.label for it in members)

        def deficit(split: str) -> float:
            return sum((targets[split] * totals[c] - counts[split][c]) * k for c, k in labels.items())

        best = max((s for s in SPLITS if targets[s] > 0), key=lambda s: (deficit(s), targets[s]))
        for it in members:
            it.split = best
            counts[best][it.label] += 1
    return items


def write_split(items: list[Item], path: str | Path) -> Path:
    """Write split.csv (atomically): path,label,group,split for every item, `path` relative to the dataset."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".csv")
    with os.fdopen(fd, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "group", "split"])
        for it in sorted(items, key=lambda it: it.rel):
            w.writerow([it.rel, it.label, it.group, it.split])
    os.replace(tmp, path)
    return path


def read_split(path: str | Path) -> dict[str, str]:
    """split.csv -> {rel: split}."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"no split file at {path}")
    return {row["path"]: row["split"] for row in read_table(path)}


def apply_split(items: list[Item], split_file: str | Path, keep: str | None = None) -> list[Item]:
    """Set each item's split from split.csv; return the items of split `keep` (all when None).

    Items of the dataset that split.csv does not list are dropped with `keep` set (they were not part of the
    run), and kept with split None otherwise.
    """
    table = read_split(split_file)
    for it in items:
        it.split = table.get(it.rel)
    if keep is None:
        return items
    chosen = [it for it in items if it.split == keep]
    if not chosen:
        raise DatasetError(f"no item of this dataset is in the {keep!r} split of {split_file}")
    return chosen


def summary(items: list[Item]) -> dict[str, dict[str, int]]:
    """{split: {label: count}} for logs and reports."""
    out: dict[str, dict[str, int]] = {}
    for it in items:
        out.setdefault(it.split or "none", {}).setdefault(it.label, 0)
        out[it.split or "none"][it.label] += 1
    return out
