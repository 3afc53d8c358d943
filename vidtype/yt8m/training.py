"""Training the temporal head on YouTube-8M frame-level features instead of video files.

    source = Yt8mFeatures("frame/train*.tfrecord", "vocabulary.csv")
    vidtype.train.train(source, "runs/yt8m", overrides=["features.frames=32"])

`Yt8mFeatures` is a *feature source* for `vidtype.train.train`: it lists the labelled videos (`items`) and gives
their features (`features`) in the shapes the feature cache would, so the split, the loop, calibration and
trust run unchanged. The resulting model's members have the backbone "yt8m": it classifies YouTube-8M feature
records (`vidtype yt8m predict`), not video files.

Two passes over the records: the first reads only each record's context (id, labels) and remembers where the
record lies; the second re-reads the chosen records and samples `features.frames` seconds per view (the clean
view: evenly spaced; training views: jittered). Records are read by `features.workers` processes, one file at a
time. Memory: N videos x views x frames x D values of `features.dtype`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from ..train.datasets import Item
from ..train.features import VideoFeatures
from .curate import balance, expand, record_labels
from .errors import RecordError
from .features import feature_dim, sample_views, video_from_record
from .mapping import LabelMap
from .tfrecord import read_record_at, read_records

log = logging.getLogger(__name__)

BACKBONE = "yt8m"


def _scan(path: str, verify: bool) -> list[tuple[str, list[int], int]]:
    """(id, labels, offset) of every record of one file."""
    out = []
    for offset, data in read_records(path, verify=verify):
        try:
            vid, labels = record_labels(data)
        except RecordError as e:
            raise RecordError(f"{path}: record at byte {offset}: {e}") from None
        out.append((vid, labels, offset))
    return out


def _load(path: str, offsets: list[int], views: list, frames: int, rgb_only: bool, verify: bool) -> list:
    """Per offset: (features, times, mask) numpy arrays, or the error message of an unusable record."""
    out = []
    with open(path, "rb") as f:
        for offset in offsets:
            try:
                out.append(sample_views(video_from_record(read_record_at(f, offset, verify=verify),
                                                          rgb_only=rgb_only), views, frames))
            except RecordError as e:
                out.append(f"{path}@{offset}: {e}")
    return out


def _map(fn, jobs: list[tuple], workers: int) -> list:
    if workers <= 1 or len(jobs) <= 1:
        return [fn(*job) for job in jobs]
    with ProcessPoolExecutor(min(workers, len(jobs))) as pool:
        return list(pool.map(fn, *zip(*jobs)))


class Yt8mFeatures:
    """Labelled YouTube-8M videos from frame-level TFRecords, as a feature source for `vidtype.train.train`.

    `records`: a glob (or list of globs/paths) of frame-level TFRecord files; `vocabulary`: vocabulary.csv;
    `mapping`: extra mapping files (see mapping.py), `default_mapping=False` to leave out the shipped one;
    `rgb_only`: 1024-d visual features instead of 1152-d visual + audio; `per_class`: balance the classes
    (see curate.balance; None keeps every mapped video).
    """

    backbone = BACKBONE

    def __init__(self, records, vocabulary, mapping=(), *, default_mapping: bool = True, rgb_only: bool = False,
                 per_class: int | None = None, seed: int = 0, verify: bool = True):
        self.patterns = [records] if isinstance(records, (str, Path)) else list(records)
        self.vocabulary, self.mapping = vocabulary, list(mapping)
        self.label_map = LabelMap.load(vocabulary, self.mapping, default=default_mapping)
        self.rgb_only, self.per_class, self.seed, self.verify = rgb_only, per_class, seed, verify
        self.feature_dim = feature_dim(rgb_only)
        self._where: dict[str, tuple[str, int]] = {}

    def __str__(self) -> str:
        parts = [f"yt8m:{','.join(map(str, self.patterns))}", f"vocabulary={self.vocabulary}"]
        parts += [f"mapping={m}" for m in self.mapping]
        return " ".join(parts + (["rgb_only"] if self.rgb_only else []))

    def items(self, classes: tuple[str, ...], cfg=None) -> list[Item]:
        """Every video whose labels map to exactly one class (balanced when `per_class` is set), as an Item:
        `rel` and `group` are the video id, `path` its TFRecord file, `extra["entities"]` what decided it."""
        files = [str(p) for p in expand(self.patterns)]
        workers = cfg.features.workers if cfg is not None else 0
        by_class: dict[str, list[Item]] = defaultdict(list)
        reasons: dict[str, int] = defaultdict(int)
        for path, records in zip(files, _map(_scan, [(p, self.verify) for p in files], workers)):
            for vid, labels, offset in records:
                if vid in self._where:
                    reasons["duplicate"] += 1
                    continue
                self._where[vid] = (path, offset)
                d = self.label_map.decide(labels)
                reasons[d.reason] += 1
                if d.label in classes:
                    by_class[d.label].append(Item(Path(path).resolve(), vid, d.label, vid,
                                                  extra={"entities": "; ".join(d.entities)}))
        if self.per_class is not None:
            by_class = balance(by_class, self.per_class, self.seed, key=lambda it: it.rel)
        items = [it for c in classes for it in by_class.get(c, [])]
        log.info("yt8m: %d files, %s; kept %d videos", len(files), dict(reasons), len(items))
        return items

    def features(self, items: list[Item], views: list, cfg) -> list[VideoFeatures]:
        """Each item's (V, T, D) features for `views` (T = cfg.features.frames), read back from its record."""
        frames, dtype = cfg.features.frames, {"float16": torch.float16, "float32": torch.float32}[cfg.features.dtype]
        missing = [it.rel for it in items if it.rel not in self._where]
        if missing:  # items() was not called on this object: find the records
            wanted = set(missing)
            for path in map(str, expand(self.patterns)):
                for vid, _, offset in _scan(path, self.verify):
                    if vid in wanted:
                        self._where.setdefault(vid, (path, offset))
        by_file: dict[str, list[int]] = defaultdict(list)
        for i, it in enumerate(items):
            if it.rel in self._where:
                by_file[self._where[it.rel][0]].append(i)
        order = {f: sorted(idx, key=lambda i: self._where[items[i].rel][1]) for f, idx in by_file.items()}
        jobs = [(f, [self._where[items[i].rel][1] for i in idx], views, frames, self.rgb_only, self.verify)
                for f, idx in order.items()]
        out: list[VideoFeatures | None] = [None] * len(items)
        for idx, results in zip(order.values(), _map(_load, jobs, cfg.features.workers)):
            for i, r in zip(idx, results):
                out[i] = self._video_features(items[i].rel, r, dtype)
        return [v if v is not None else VideoFeatures(it.rel, error=f"yt8m_record_error: no record of {it.rel}")
                for v, it in zip(out, items)]

    @staticmethod
    def _video_features(vid: str, result, dtype: torch.dtype) -> VideoFeatures:
        if isinstance(result, str):
            return VideoFeatures(vid, error=f"yt8m_record_error: {result}")
        feats, times, mask = result
        if not mask.any():
            return VideoFeatures(vid, error="yt8m_record_error: the record has no frames")
        return VideoFeatures(vid, torch.from_numpy(feats).to(dtype), torch.from_numpy(times), torch.from_numpy(mask))
