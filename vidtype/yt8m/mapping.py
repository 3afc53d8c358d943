"""From YouTube-8M entities to vidtype's four classes: the mapping rules and the per-video decision.

A mapping file is a CSV with the columns `match,value,class[,note]` (lines starting with # are comments):

    match        what `value` is compared with (case-insensitive)
      kgid         the entity's KnowledgeGraphId, exactly        e.g. /m/0hcr
      name         the entity's Name, exactly                    e.g. Video game
      description  a phrase inside its WikiDescription           e.g. animated television series
      vertical1    its Vertical1, exactly                        e.g. Games
      vertical     any of Vertical1..3, exactly
    class        animation | gaming | natural | flat, or
                 ignore (the entity decides nothing: overrides a broader rule) or
                 drop (a video with this entity is left out: e.g. Chess, a "game" that is filmed)

Each entity takes the first rule that matches it in the order kgid, name, description, vertical1, vertical; within
one kind, user files come before the shipped file (a later --mapping file before an earlier one), and rules
for the same (match, value) in a lower file are replaced. A video is then labelled with the one class its
entities point to; videos pointing to no class are unmapped, to two or more ambiguous (both are left out).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..store import CLASSES
from .errors import Yt8mError
from .vocabulary import Entity, read_vocabulary

KINDS = ("kgid", "name", "description", "vertical1", "vertical")  # in order of precedence
TARGETS = CLASSES + ("ignore", "drop")


def default_mapping_path() -> Path:
    """The mapping shipped with vidtype (vidtype/yt8m/mapping.csv)."""
    return Path(str(resources.files("vidtype.yt8m") / "mapping.csv"))


def norm(text: str) -> str:
    """Case- and Unicode-insensitive form used for every comparison."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


@dataclass(frozen=True)
class Rule:
    kind: str  # one of KINDS
    value: str
    target: str  # one of TARGETS
    where: str = ""  # file:line, for messages

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, norm(self.value)


def read_mapping(path: str | Path) -> list[Rule]:
    """The rules of one mapping file, in file order."""
    path = Path(path)
    if not path.is_file():
        raise Yt8mError(f"no mapping file at {path}")
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    body = [(n, line) for n, line in enumerate(lines, start=1) if line.strip() and not line.lstrip().startswith("#")]
    if not body:
        return []
    rows = list(csv.reader(io.StringIO("\n".join(line for _, line in body))))
    header = [c.strip().lower() for c in rows[0]]
    if header[:3] != ["match", "value", "class"]:
        raise Yt8mError(f"{path}:{body[0][0]}: a mapping file starts with the header match,value,class[,note]")
    rules = []
    for (n, _), row in zip(body[1:], rows[1:]):
        if len(row) < 3:
            raise Yt8mError(f"{path}:{n}: expected match,value,class")
        kind, value, target = (c.strip() for c in row[:3])
        kind, target = kind.lower(), target.lower()
        if kind not in KINDS:
            raise Yt8mError(f"{path}:{n}: unknown match {kind!r} (use {', '.join(KINDS)})")
        if target not in TARGETS:
            raise Yt8mError(f"{path}:{n}: unknown class {target!r} (use {', '.join(TARGETS)})")
        if not value:
            raise Yt8mError(f"{path}:{n}: empty value")
        rules.append(Rule(kind, value, target, f"{path.name}:{n}"))
    return rules


def load_rules(files: list[str | Path] | tuple = (), *, default: bool = True) -> list[Rule]:
    """The rules of the user's files (the last file first) followed by the shipped ones; a (match, value) pair
    keeps only its first rule."""
    layers = [read_mapping(f) for f in reversed(list(files))]
    if default:
        layers.append(read_mapping(default_mapping_path()))
    rules, seen = [], set()
    for layer in layers:
        for rule in layer:
            if rule.key not in seen:
                seen.add(rule.key)
                rules.append(rule)
    if not rules:
        raise Yt8mError("the mapping has no rules")
    return rules


@dataclass(frozen=True)
class Decision:
    """What a video's labels say: its class (or None) and the entities that decided it."""

    label: str | None
    reason: str  # "mapped", "unmapped", "ambiguous" (entities point to 2+ classes) or "dropped"
    entities: tuple[str, ...] = ()  # mapped: the entities of its class; ambiguous: all mapped; dropped: the drop ones


class LabelMap:
    """Entity index -> (class, rule) for a vocabulary and a rule list; `decide(labels)` per video."""

    def __init__(self, vocabulary: dict[int, Entity], rules: list[Rule]):
        self.vocabulary, self.rules = vocabulary, rules
        exact = {kind: {} for kind in KINDS if kind != "description"}
        for rule in rules:
            if rule.kind != "description":
                exact[rule.kind].setdefault(rule.key[1], rule)
        phrases = [r for r in rules if r.kind == "description"]
        self.targets: dict[int, tuple[str, Rule]] = {}
        for index, e in vocabulary.items():
            rule = (exact["kgid"].get(norm(e.kgid)) or exact["name"].get(norm(e.name))
                    or next((r for r in phrases if r.key[1] in norm(e.description)), None)
                    or (exact["vertical1"].get(norm(e.verticals[0])) if e.verticals else None)
                    or next((exact["vertical"][norm(v)] for v in e.verticals if norm(v) in exact["vertical"]), None))
            if rule is not None and rule.target != "ignore":
                self.targets[index] = (rule.target, rule)
        used = {id(rule) for _, rule in self.targets.values()}
        self.unused = [r for r in rules if id(r) not in used and r.target != "ignore"]

    @classmethod
    def load(cls, vocabulary: str | Path, mapping=(), *, default: bool = True) -> "LabelMap":
        """A LabelMap from vocabulary.csv and mapping files (see `load_rules`)."""
        return cls(read_vocabulary(vocabulary), load_rules(mapping, default=default))

    def entities_of(self, target: str) -> list[Entity]:
        """The vocabulary's entities mapped to `target` (a class or "drop")."""
        return [self.vocabulary[i] for i, (t, _) in sorted(self.targets.items()) if t == target]

    def decide(self, labels: list[int]) -> Decision:
        """The class of a video with these label indices (indices missing from the vocabulary are ignored)."""
        hits: dict[str, list[str]] = {}
        for index in labels:
            if index in self.targets:
                hits.setdefault(self.targets[index][0], []).append(self.vocabulary[index].name)
        if "drop" in hits:
            return Decision(None, "dropped", tuple(hits["drop"]))
        if not hits:
            return Decision(None, "unmapped")
        if len(hits) > 1:
            return Decision(None, "ambiguous", tuple(n for c in CLASSES if c in hits for n in hits[c]))
        (label, names), = hits.items()
        return Decision(label, "mapped", tuple(names))
