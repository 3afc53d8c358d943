"""Classifying YouTube-8M feature records with a model trained on them (members with the backbone "yt8m").

    for row in predict_records("runs/yt8m", ["frame/validate00.tfrecord"], label_map=LabelMap.load("vocabulary.csv")):
        row["id"], row["label"], row["probabilities"], row["trust"], row["expected"]

Each record is read as training reads its clean view (`model.frames` evenly spaced seconds), then scored as
`vidtype.classify` scores a video: mean calibrated probabilities over members, trust, "unknown" below the
model's threshold. Such a model cannot classify video files: it never saw Inception features of your frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch

from ..store import Model, load_model
from ..train.features import CLEAN
from ..train.loop import predict_outputs
from ..train.calibrate import pipeline_outputs
from ..trust import decide, trust_score
from .curate import expand
from .errors import Yt8mError
from .features import RGB_DIM, feature_dim, sample_views, video_from_record
from .mapping import LabelMap
from .tfrecord import read_records
from .training import BACKBONE


def check_model(model: Model) -> bool:
    """True when the model reads rgb only (1024-d), False for rgb + audio (1152-d); raises for other models."""
    if any(m.backbone != BACKBONE for m in model.members):
        raise Yt8mError(f"{model.path or model.name} is a model of video files ({', '.join(model.backbones)}), not "
                        f"of YouTube-8M features: use `vidtype predict`")
    dims = {m.config.feature_dim for m in model.members}
    if len(dims) != 1 or dims.pop() not in (RGB_DIM, feature_dim(False)):
        raise Yt8mError("the model's members do not read 1024-d (rgb) or 1152-d (rgb + audio) features")
    return model.members[0].config.feature_dim == RGB_DIM


def _score(model: Model, ids: list[str], feats: np.ndarray, mask: np.ndarray, expected: list) -> list[dict]:
    x, m = torch.from_numpy(feats)[:, None], torch.from_numpy(mask)[:, None]  # one view: (N, 1, T, D)
    outputs = [predict_outputs(member.head, x, m, "cpu") for member in model.members]
    out = pipeline_outputs(outputs, model.temperature)
    rows = []
    for i, vid in enumerate(ids):
        probs = out["probabilities"][i]
        best = int(probs.argmax())
        trust = trust_score(probs, out["logits"][i], [e[i] for e in out["embeddings"]], model.trust)
        rows.append({"id": vid, "label": decide(model.classes[best], trust, model.threshold),
                     "confidence": round(float(probs[best]), 4),
                     "probabilities": {c: round(float(p), 4) for c, p in zip(model.classes, probs)},
                     "trust": round(trust, 4), "expected": expected[i]})
    return rows


def predict_records(model: str | Path | Model, records: Iterable[str | Path], *, label_map: LabelMap | None = None,
                    batch_size: int = 256, verify: bool = True) -> Iterator[dict]:
    """One result per record of the TFRecord files (paths or globs): id, label, confidence, probabilities,
    trust, and `expected` (the class its YouTube-8M labels map to, when `label_map` is given, else None); a
    record without frames gives {"id", "error", "expected"}."""
    model = model if isinstance(model, Model) else load_model(model)
    for member in model.members:
        member.head.to("cpu").eval()
    rgb_only = check_model(model)
    batch: list = []
    for path in expand(records):
        for _, data in read_records(path, verify=verify):
            video = video_from_record(data, rgb_only=rgb_only)
            feats, _, mask = sample_views(video, [CLEAN], model.frames)
            expected = label_map.decide(video.labels).label if label_map is not None else None
            if not mask.any():  # keep the output in record order
                if batch:
                    yield from _score(model, *_columns(batch))
                    batch = []
                yield {"id": video.id, "error": "the record has no frames", "expected": expected}
                continue
            batch.append((video.id, feats[0], mask[0], expected))
            if len(batch) >= batch_size:
                yield from _score(model, *_columns(batch))
                batch = []
    if batch:
        yield from _score(model, *_columns(batch))


def _columns(batch: list) -> tuple:
    ids, feats, masks, expected = zip(*batch)
    return list(ids), np.stack(feats), np.stack(masks), list(expected)
