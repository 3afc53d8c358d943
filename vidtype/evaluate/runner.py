"""`evaluate(DATA, MODEL)`: the model's predictions on labelled videos, measured every way that matters.

How predictions are obtained. Per-video features come from the feature cache (train/features.py), made by the
same `sample_frames` + `preprocess`/`tta_views` + backbone calls as `vidtype.classify`, and the heads run on
them; probabilities are combined exactly like `Classifier.head` (softmax(logits / T), mean over views, then
over members; see train/calibrate.py). So the numbers equal those of `classify(path, model, tta=...)` (up to
float16 storage of the features) while a second evaluation, another split or another model on the same
backbone decodes nothing. Throughput is measured separately, through the real `vidtype.classify` path on a
few videos, with and without TTA.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch

from ..store import Model, load_model
from ..train.calibrate import ensemble_probs
from ..train.config import default_cache_dir
from ..train.datasets import DatasetError, apply_split, load_dataset
from ..train.features import CLEAN, eval_views, extract_features
from ..train.loop import predict_outputs
from .metrics import classification_metrics
from .report import write_report

log = logging.getLogger(__name__)

METHOD = ("Predictions come from cached features (same sampling, transforms and backbone as `vidtype.classify`); "
          "probabilities are the mean over views and members of softmax(logits / T), as in the pipeline. "
          "\"TTA\" is the 8 views of `classify(tta=True)`: 2 temporal samples x 4 spatial views (centre, flip, "
          "two side crops). Trust: trust.py's score from the same outputs; coverage is the share of videos at or "
          "above the model's threshold (the rest would be labelled unknown). ECE: 10 equal-width confidence bins. Macro-F1 averages the classes present in the "
          "labels or predictions. Throughput: wall time of `vidtype.classify` per video (decode, features, head), "
          "after one warm-up video.")


def _training_sampling(model: Model) -> tuple[int, bool]:
    s = (model.extra.get("training") or {}).get("sampling") or {}
    return int(s.get("frames", model.frames)), bool(s.get("sharpen", False))


def evaluate(data: str | Path, model: str | Path | Model, *, out: str | Path | None = None, split: str | None = None,
             tta: bool = True, group_by: tuple[str, ...] | list[str] = (), cache_dir: str | Path | None = None,
             device: str | None = None, runtime: str = "auto", throughput_videos: int = 8, workers: int = 2,
             progress: bool = True, ood: str | Path | None = None) -> dict:
    """Evaluate `model` (a directory or a loaded Model) on the labelled dataset `data`; return the metrics dict.

    split: evaluate only the videos of that split in the model's split.csv ("test", "val"). group_by: columns
    (manifest columns such as source_format, or "ext"/"group") to report metrics per value of. tta: also
    measure with test-time augmentation (headline = ensemble with TTA). out: write metrics.json, report.md,
    predictions.csv, misclassified.csv and PNG plots there. throughput_videos: how many videos to time through
    `vidtype.classify` (0: skip). ood: a folder of out-of-distribution videos or a manifest with a `path`
    column; adds the "ood" block (see ood.py), ood_predictions.csv and ood_scores.png.
    """
    if not isinstance(model, Model):
        model = load_model(model)
    classes = tuple(model.classes)
    items = load_dataset(data, classes)
    if split:
        if model.path is None or not (Path(model.path) / "split.csv").is_file():
            raise DatasetError(f"evaluating the {split!r} split needs the model's split.csv (none in {model.path})")
        items = apply_split(items, Path(model.path) / "split.csv", keep=split)
    for column in group_by:  # fail early on a misspelled column
        items[0].column(column)
    frames, sharpen = _training_sampling(model)
    dev = torch.device(device) if device else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    views = [CLEAN] + (eval_views(tta=True) if tta else [])
    cache = Path(cache_dir) if cache_dir else default_cache_dir()

    feats = {b: extract_features(items, b, views, cache, frames=frames, sharpen=sharpen, device=dev, runtime=runtime,
                                 workers=workers, progress=progress) for b in model.backbones}
    ok = [all(feats[b][i].error is None for b in model.backbones) for i in range(len(items))]
    failed = [{"path": it.rel, "error": feats[model.backbones[0]][i].error or "failed for another backbone"}
              for i, it in enumerate(items) if not ok[i]]
    used = [it for it, good in zip(items, ok) if good]
    if not used:
        raise DatasetError(f"no video of {data} could be decoded")
    labels = np.array([classes.index(it.label) for it in used])
    outputs = [_member_outputs(m, feats[m.backbone], ok, dev) for m in model.members]  # (N,V,C), (N,V,E) each
    pooled = [pooled_features(feats[m.backbone], ok) for m in model.members]  # (N,V,D) each, for trust
    logits = torch.stack([lg for lg, _ in outputs])  # (M, N, V, C)

    selections = {"no_tta": slice(0, 1)} | ({"tta": slice(1, len(views))} if tta else {})
    T = model.temperature
    results = {"ensemble": {k: classification_metrics(labels, ensemble_probs(logits[:, :, s], T).numpy(), classes)
                            for k, s in selections.items()},
               "members": [{"index": i, "backbone": m.backbone,
                            **{k: classification_metrics(labels, ensemble_probs(logits[i:i + 1, :, s], T).numpy(),
                                                         classes) for k, s in selections.items()}}
                           for i, m in enumerate(model.members)]}
    key = "tta" if tta else "no_tta"
    probs = ensemble_probs(logits[:, :, selections[key]], T).numpy()
    trust = trust_scores(model, [(lg[:, selections[key]], e[:, selections[key]]) for lg, e in outputs],
                         [p[:, selections[key]].mean(1) for p in pooled])
    groups = {}
    for column in group_by:
        values = np.array([it.column(column) for it in used])
        groups[column] = {v: classification_metrics(labels[values == v], probs[values == v], classes)
                          for v in sorted(set(values))}
    metrics = {
        "classes": list(classes),
        "headline": f"ensemble/{key}",
        "model": {"name": model.name, "version": model.version, "path": str(model.path) if model.path else None,
                  "members": [m.backbone for m in model.members], "temperature": T, "frames": model.frames},
        "data": {"source": str(data), "split": split, "n_videos": len(items), "n_evaluated": len(used),
                 "failed": failed},
        "results": results,
        "groups": groups,
        "trust": trust_metrics(trust, probs.argmax(1) == labels, model.threshold),
        "throughput": measure_throughput(model, [it.path for it in used], throughput_videos, dev, runtime, tta),
        "method": METHOD,
    }
    ood_predictions = None
    if ood is not None:
        from .ood import evaluate_ood

        metrics["ood"], ood_predictions = evaluate_ood(
            model, ood, outputs, pooled, labels, selections, views, cache=cache, frames=frames, sharpen=sharpen,
            device=dev, runtime=runtime, workers=workers, progress=progress)
    predictions = [{"path": it.rel, "label": it.label, "predicted": classes[int(p.argmax())],
                    "confidence": float(p.max()), "probabilities": dict(zip(classes, map(float, p))),
                    "trust": float(t), "groups": {c: it.column(c) for c in group_by}}
                   for it, p, t in zip(used, probs, trust)]
    if out is not None:
        write_report(metrics, predictions, out, ood_predictions)
    return metrics


def _member_outputs(member, videos: list, ok: list[bool], device) -> tuple[torch.Tensor, torch.Tensor]:
    feats = torch.stack([v.features for v, good in zip(videos, ok) if good])
    mask = torch.stack([v.mask for v, good in zip(videos, ok) if good])
    member.head.to(device)
    return predict_outputs(member.head, feats, mask, device)


def pooled_features(videos: list, ok: list[bool]) -> torch.Tensor:
    """(N, V, D): each usable video's backbone features averaged over its frames, per view."""
    from ..trust import pool_features

    return torch.stack([pool_features(v.features, v.mask) for v, good in zip(videos, ok) if good])


def trust_scores(model: Model, outputs: list[tuple[torch.Tensor, torch.Tensor]],
                 features: list[torch.Tensor] | None = None) -> np.ndarray:
    """Per-video trust in 0..1, as `Classifier` computes it (trust.py), from per-member logits and embeddings
    and (for the feature score) per-member (N, D) mean backbone features."""
    from ..train.calibrate import pipeline_outputs
    from ..trust import score_batch

    out = pipeline_outputs(outputs, model.temperature)
    return score_batch(out["probabilities"], out["logits"], out["embeddings"], model.trust, features)["trust"].numpy()


def auroc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """Area under the ROC curve of `scores` separating positive from negative cases (ties count half)."""
    pos, neg = scores[positive], scores[~positive]
    if len(pos) == 0 or len(neg) == 0:
        return None
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def trust_metrics(trust: np.ndarray, correct: np.ndarray, threshold: float) -> dict:
    """How well trust separates right from wrong answers, and what the model's threshold keeps."""
    kept = trust >= threshold
    return {"threshold": threshold, "coverage": float(kept.mean()),
            "accuracy_kept": float(correct[kept].mean()) if kept.any() else None,
            "accuracy_rejected": float(correct[~kept].mean()) if (~kept).any() else None,
            "auroc_correct": auroc(trust, correct), "mean_trust": float(trust.mean())}


def measure_throughput(model: Model, paths: list[Path], n: int, device: torch.device, runtime: str,
                       tta: bool) -> dict:
    """Time `vidtype.classify` on up to `n` videos (spread over the list), without and with TTA."""
    if n <= 0 or not paths:
        return {}
    from .. import classifier
    from ..errors import VidtypeError

    clf = classifier(model, device=str(device), runtime=runtime)
    chosen = [paths[i] for i in np.linspace(0, len(paths) - 1, min(n, len(paths))).round().astype(int)]
    runs = {}
    for key, use_tta in [("no_tta", False)] + ([("tta", True)] if tta else []):
        try:
            clf.classify(chosen[0], tta=use_tta)  # warm-up: first-call costs (ONNX session, allocations)
        except VidtypeError:
            pass
        seconds, frames, done, parts = 0.0, 0, 0, {"decode": 0.0, "features": 0.0, "head": 0.0}
        for p in chosen:
            t0 = time.perf_counter()
            try:
                pred = clf.classify(p, tta=use_tta)
            except VidtypeError:
                continue
            seconds += time.perf_counter() - t0
            frames += sum(1 for f in pred.frames if f.rejected is None)
            done += 1
            for k in parts:
                parts[k] += pred.timings_ms.get(k, 0.0)
        if done:
            runs[key] = {"videos": done, "seconds": round(seconds, 3), "videos_per_s": done / seconds,
                         "frames_per_s": frames / seconds, "ms_per_video": {k: v / done for k, v in parts.items()}}
    return {"device": str(device), "runs": runs,
            "note": "frames/s counts the sampled frames of each video (TTA encodes each frame in 8 views)."}
