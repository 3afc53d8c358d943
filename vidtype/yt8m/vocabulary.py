"""The YouTube-8M vocabulary: one Knowledge Graph entity per label index.

    vocab = read_vocabulary("vocabulary.csv")
    vocab[0].name, vocab[0].verticals, vocab[0].description

The CSV's columns: Index, TrainVideoCount, KnowledgeGraphId, Name, WikiUrl, Vertical1, Vertical2, Vertical3,
WikiDescription (3862 rows in the 2018 release).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from .errors import Yt8mError

REQUIRED = ("Index", "KnowledgeGraphId", "Name", "Vertical1")


@dataclass(frozen=True)
class Entity:
    """One label of the vocabulary."""

    index: int
    kgid: str  # Knowledge Graph id, e.g. /m/01mw1
    name: str
    verticals: tuple[str, ...]  # Vertical1..3, known ones only, in order
    description: str = ""
    train_count: int = 0


def _vertical(value: str | None) -> str:
    value = (value or "").strip()
    return "" if value in ("", "(Unknown)", "Unknown") else value


def read_vocabulary(path: str | Path) -> dict[int, Entity]:
    """{label index: Entity} from vocabulary.csv."""
    path = Path(path)
    if not path.is_file():
        raise Yt8mError(f"no vocabulary file at {path} (YouTube-8M's vocabulary.csv)")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise Yt8mError(f"{path}: not a YouTube-8M vocabulary (missing column(s) {', '.join(missing)})")
        vocab = {}
        for line, row in enumerate(reader, start=2):
            try:
                index = int(row["Index"])
                count = int(row.get("TrainVideoCount") or 0)
            except ValueError:
                raise Yt8mError(f"{path}:{line}: Index/TrainVideoCount must be integers") from None
            verticals = tuple(v for v in (_vertical(row.get(f"Vertical{k}")) for k in (1, 2, 3)) if v)
            vocab[index] = Entity(index, (row["KnowledgeGraphId"] or "").strip(), (row["Name"] or "").strip(),
                                  verticals, (row.get("WikiDescription") or "").strip(), count)
    if not vocab:
        raise Yt8mError(f"{path}: the vocabulary is empty")
    return vocab
