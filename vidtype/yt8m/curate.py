"""Curation: which YouTube-8M videos to train on, with which class, decided by their labels.

    result = curate(["train*.tfrecord"], LabelMap.load("vocabulary.csv"), per_class=2000)
    write_manifest(result.rows, "manifest.csv")     # id,label,entities

Label files are YouTube-8M TFRecords (video- or frame-level: context `id` and `labels`) or CSV files with the
columns `id,labels` (label indices separated by spaces). Every video whose labels point to exactly one class is
kept; classes are then balanced (see `balance`).
"""

from __future__ import annotations

import csv
import glob
import hashlib
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..store import CLASSES
from .mapping import LabelMap
from .proto import parse_example
from .errors import RecordError, Yt8mError
from .tfrecord import read_records

log = logging.getLogger(__name__)


@dataclass
class Row:
    """One curated video."""

    id: str
    label: str
    entities: tuple[str, ...]  # the entities that decided the label


@dataclass
class CurateResult:
    rows: list[Row]  # balanced, sorted by class then id
    reasons: Counter = field(default_factory=Counter)  # mapped / unmapped / ambiguous / dropped / duplicate
    found: Counter = field(default_factory=Counter)  # videos per class before balancing
    files: int = 0


def expand(patterns: Iterable[str | Path]) -> list[Path]:
    """Paths and glob patterns -> existing files, sorted within each pattern; a pattern matching nothing is an
    error."""
    out = []
    for p in patterns:
        text = os.path.expanduser(str(p))
        matches = sorted(glob.glob(text)) if glob.has_magic(text) else [text]
        files = [Path(m) for m in matches if Path(m).is_file()]
        if not files:
            raise Yt8mError(f"no file matches {p}")
        out.extend(files)
    return out


def record_labels(data: bytes) -> tuple[str, list[int]]:
    """(id, labels) from the context of one serialised Example / SequenceExample."""
    ctx = parse_example(data, feature_lists=False).context
    ids = ctx.get("id") or []
    if not ids or not isinstance(ids, list) or not isinstance(ids[0], bytes):
        raise RecordError("record without a bytes `id` feature (not a YouTube-8M record?)")
    labels = ctx.get("labels", [])
    return ids[0].decode("utf-8", "replace"), [int(x) for x in labels]


def _csv_labels(path: Path) -> Iterator[tuple[str, list[int]]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        cols = {c.strip().lower(): c for c in reader.fieldnames or []}
        if "id" not in cols or "labels" not in cols:
            raise Yt8mError(f"{path}: a label CSV needs the columns id,labels (labels: indices separated by spaces)")
        for line, row in enumerate(reader, start=2):
            try:
                labels = [int(x) for x in (row[cols["labels"]] or "").split()]
            except ValueError:
                raise Yt8mError(f"{path}:{line}: labels must be integers separated by spaces") from None
            yield row[cols["id"]].strip(), labels


def read_labels(path: str | Path, *, verify: bool = True) -> Iterator[tuple[str, list[int]]]:
    """(video id, label indices) of every video in a label file: a .csv, or else a TFRecord file."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        yield from _csv_labels(path)
        return
    for offset, data in read_records(path, verify=verify):
        try:
            yield record_labels(data)
        except RecordError as e:
            raise RecordError(f"{path}: record at byte {offset}: {e}") from None


def rank(video_id: str, seed: int) -> str:
    """A stable pseudo-random sort key: which videos a balanced subset keeps does not depend on file order."""
    return hashlib.sha1(f"{seed}:{video_id}".encode()).hexdigest()


def balance(by_class: dict[str, list], per_class: int | None = None, seed: int = 0,
            key=lambda x: x.id) -> dict[str, list]:
    """At most `per_class` items per class (default: as many as the smallest non-empty class has), chosen by
    `rank`; `per_class=0` keeps everything."""
    sizes = [len(v) for v in by_class.values() if v]
    if per_class == 0 or not sizes:
        return by_class
    n = per_class if per_class is not None else min(sizes)
    return {c: sorted(v, key=lambda x: rank(key(x), seed))[:n] for c, v in by_class.items()}


def curate(label_files: Iterable[str | Path], label_map: LabelMap, *, per_class: int | None = None, seed: int = 0,
           verify: bool = True) -> CurateResult:
    """Decide the class of every video in the label files, then balance the classes."""
    files = expand(label_files)
    result = CurateResult([], files=len(files))
    by_class: dict[str, list[Row]] = {c: [] for c in CLASSES}
    seen: set[str] = set()
    for path in files:
        for vid, labels in read_labels(path, verify=verify):
            if vid in seen:
                result.reasons["duplicate"] += 1
                continue
            seen.add(vid)
            d = label_map.decide(labels)
            result.reasons[d.reason] += 1
            if d.label is not None:
                by_class[d.label].append(Row(vid, d.label, d.entities))
    result.found = Counter({c: len(v) for c, v in by_class.items()})
    empty = [c for c, v in by_class.items() if not v]
    if empty:
        log.warning("no video was mapped to %s", ", ".join(empty))
    kept = balance(by_class, per_class, seed)
    result.rows = [r for c in CLASSES for r in sorted(kept[c], key=lambda r: r.id)]
    return result


def write_manifest(rows: list[Row], path: str | Path) -> Path:
    """Write the curated manifest (atomically): id,label,entities (entity names separated by `; `)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".csv")
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "label", "entities"])
        for r in rows:
            w.writerow([r.id, r.label, "; ".join(r.entities)])
    os.replace(tmp, path)
    return path


def read_manifest(path: str | Path) -> list[dict[str, str]]:
    """Rows of a curated manifest (at least id,label; other columns such as youtube_id are kept)."""
    path = Path(path)
    if not path.is_file():
        raise Yt8mError(f"no manifest at {path}")
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(f)]
    if rows and not {"id", "label"} <= set(rows[0]):
        raise Yt8mError(f"{path}: a manifest needs the columns id,label")
    for n, row in enumerate(rows, start=2):
        if row["label"] not in CLASSES:
            raise Yt8mError(f"{path}:{n}: unknown label {row['label']!r} (classes: {', '.join(CLASSES)})")
    return rows
