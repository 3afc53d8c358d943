"""Out-of-distribution evaluation: how well trust tells the evaluated videos from videos of none of the classes.

    vidtype evaluate runs/footage/manifest.csv --model runs/m1 --split test --ood runs/footage/ood.csv --out REPORT

For every score of trust.py and for the combined trust: AUROC (in-distribution vs OOD), FPR at 95 % TPR (the
share of OOD videos kept by the threshold that keeps 95 % of the evaluated in-distribution videos), and at the
threshold fitted on validation videos (the model's own for trust, the same kept share for each single score) the
share of in-distribution videos abstained and of OOD videos still labelled. Also macro-F1 of the in-distribution
videos before and after `unknown` replaces the labels below the threshold (abstentions counted as misses) and
on the videos kept, and the OOD detection rate per kind. The OOD videos go through the same feature cache and
heads as the in-distribution ones (see runner.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..store import Model
from ..train.calibrate import pipeline_outputs
from ..train.datasets import VIDEO_EXTENSIONS, DatasetError, read_table
from ..train.features import extract_features
from ..train.loop import predict_outputs
from ..trust import SCORES, auroc, fitted_scores, fpr_at_tpr, score_batch
from .metrics import confusion_matrix, per_class

TPR = 0.95
BINS = 30


@dataclass
class OodVideo:
    path: Path  # absolute
    rel: str  # as listed (relative to the folder or manifest)
    kind: str  # the manifest's kind / src_group column, else the parent folder


def load_ood(source: str | Path) -> list[OodVideo]:
    """The videos of a folder (searched recursively) or of a CSV/Parquet manifest with a `path` column."""
    source = Path(source)
    if source.is_dir():
        videos = [OodVideo(p.resolve(), p.relative_to(source).as_posix(),
                           p.parent.relative_to(source).as_posix() if p.parent != source else "ood")
                  for p in sorted(source.rglob("*"))
                  if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS and not p.name.startswith(".")]
    elif source.is_file() and source.suffix.lower() in (".csv", ".parquet", ".pq"):
        rows = read_table(source)
        if rows and "path" not in rows[0]:
            raise DatasetError(f"{source}: an OOD manifest needs a `path` column (has {', '.join(rows[0])})")
        videos = []
        for row in rows:
            p = Path(row["path"])
            kind = row.get("kind") or row.get("src_group", "").split(":")[0] or p.parent.name or "ood"
            videos.append(OodVideo((p if p.is_absolute() else source.parent / p).resolve(), p.as_posix(), kind))
    else:
        raise DatasetError(f"{source} is neither a folder of videos nor a .csv/.parquet manifest")
    if not videos:
        raise DatasetError(f"no videos found in {source}")
    return videos


def score_table(model: Model, outputs: list[tuple[torch.Tensor, torch.Tensor]],
                features: list[torch.Tensor] | None = None) -> dict[str, np.ndarray]:
    """Per-video raw scores ({name: (N,)}, the fitted ones), "trust" as the pipeline computes it and, with fitted
    statistics, the "combined" score trust is the validation CDF of.

    `outputs`: per member (logits (N,V,C), embeddings (N,V,E)); `features`: per member (N,D) mean backbone features.
    """
    out = pipeline_outputs(outputs, model.temperature)
    batch = score_batch(out["probabilities"], out["logits"], out["embeddings"], model.trust, features)
    table = {}
    if model.trust:
        names = SCORES[: len(model.trust["score_weights"])]
        fitted = fitted_scores(model.trust)
        table = {n: batch["raw"][:, j].numpy() for j, n in enumerate(names) if n in fitted}
        table["combined"] = batch["combined"].numpy()
    table["trust"] = batch["trust"].numpy()
    return table


def score_thresholds(model: Model) -> dict[str, float]:
    """The threshold of each score fitted on validation videos: the model's own for trust, and for each single
    score the value keeping the same share of validation videos (models fitted before per-score references were
    stored have only the trust threshold)."""
    thresholds = {"trust": model.threshold}
    stats = model.trust or {}
    if "score_reference" in stats and model.threshold > 0:
        keep = float(stats.get("target_tpr", torch.tensor(TPR)))
        names = SCORES[: stats["score_reference"].shape[1]]
        for j, n in enumerate(names):
            if n in fitted_scores(stats) and not stats["score_reference"][:, j].isnan().any():
                thresholds[n] = float(torch.quantile(stats["score_reference"][:, j].double(), 1.0 - keep))
    return thresholds


def histogram(id_values: np.ndarray, ood_values: np.ndarray, bins: int = BINS) -> dict:
    """Counts of both sets on shared bins spanning the 1st..99th percentile of all values (outliers go to the
    outermost bins), so one extreme video does not squash the plot."""
    both = np.concatenate([id_values, ood_values])
    lo, hi = np.percentile(both, [1, 99]) if len(both) else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)

    def count(v):
        return np.histogram(np.clip(v, lo, hi), edges)[0].tolist()

    return {"edges": edges.tolist(), "id": count(id_values), "ood": count(ood_values)}


def macro_f1_with_unknown(labels: np.ndarray, predicted: np.ndarray, kept: np.ndarray, n_classes: int) -> float:
    """Macro-F1 over the model's classes when the videos not kept are labelled `unknown` (an extra column that
    is never right: it lowers recall, and spares the precision of the class it would have been given)."""
    cm = confusion_matrix(labels, np.where(kept, predicted, n_classes), n_classes + 1)
    f1 = per_class(cm)["f1"][:n_classes]
    present = (cm.sum(0) + cm.sum(1))[:n_classes] > 0
    return float(f1[present].mean()) if present.any() else 0.0


def ood_metrics(model: Model, id_table: dict, ood_table: dict, labels: np.ndarray, probs: np.ndarray,
                kinds: list[str]) -> dict:
    """The OOD block of metrics.json for one set of views (see the module docstring)."""
    thresholds = score_thresholds(model)
    weights = {}
    if model.trust:
        weights = dict(zip(SCORES, (float(w) for w in model.trust["score_weights"])))
    scores, histograms = {}, {}
    for name in (n for n in ood_table if n != "combined"):
        # trust is a CDF that is 0 below the lowest validation video: rank by the combined score it is made of
        ranked = "combined" if name == "trust" and "combined" in ood_table else name
        a, b = torch.from_numpy(id_table[ranked]), torch.from_numpy(ood_table[ranked])
        entry = {"auroc": auroc(a, b), "fpr95": fpr_at_tpr(a, b, TPR), "weight": weights.get(name)}
        if name in thresholds:
            t = thresholds[name]
            entry |= {"threshold": t, "id_abstained": float((id_table[name] < t).mean()),
                      "ood_labelled": float((ood_table[name] >= t).mean())}
        scores[name] = entry
        histograms[name] = histogram(id_table[name], ood_table[name]) | {"threshold": thresholds.get(name)}
    predicted = probs.argmax(1)
    kept = id_table["trust"] >= model.threshold
    detected = ood_table["trust"] < model.threshold
    n_classes = probs.shape[1]
    by_kind = {}
    for k in sorted(set(kinds)):
        sel = np.array([x == k for x in kinds])
        by_kind[k] = {"n": int(sel.sum()), "detected": float(detected[sel].mean()),
                      "mean_trust": float(ood_table["trust"][sel].mean())}
    return {"threshold": model.threshold, "tpr_for_fpr": TPR, "scores": scores,
            "id_n": int(len(labels)), "ood_n": int(len(detected)),
            "id_abstained": float((~kept).mean()), "ood_detected": float(detected.mean()),
            "id_macro_f1": macro_f1_with_unknown(labels, predicted, np.ones_like(kept), n_classes),
            "id_macro_f1_with_unknown": macro_f1_with_unknown(labels, predicted, kept, n_classes),
            "id_macro_f1_kept": macro_f1_with_unknown(labels[kept], predicted[kept], kept[kept], n_classes),
            "by_kind": by_kind, "histograms": histograms}


def evaluate_ood(model: Model, source: str | Path, id_outputs: list, id_features: list, labels: np.ndarray,
                 selections: dict, views: list, *, cache: Path, frames: int, sharpen: bool, device,
                 runtime: str = "auto", workers: int = 2, progress: bool = True) -> tuple[dict, list[dict]]:
    """Measure the OOD videos of `source` against the in-distribution outputs already computed by runner.py.

    `id_outputs`: per member (logits (N,V,C), embeddings (N,V,E)) over `views`; `id_features`: per member
    (N,V,D) mean backbone features; `selections`: {"no_tta": slice, "tta": slice} of those views. Returns the
    metrics block and one record per OOD video.
    """
    from .runner import pooled_features

    videos = load_ood(source)
    feats = {b: extract_features([v.path for v in videos], b, views, cache, frames=frames, sharpen=sharpen,
                                 device=device, runtime=runtime, workers=workers, progress=progress)
             for b in model.backbones}
    ok = [all(feats[b][i].error is None for b in model.backbones) for i in range(len(videos))]
    failed = [{"path": v.rel, "error": feats[model.backbones[0]][i].error or "failed for another backbone"}
              for i, v in enumerate(videos) if not ok[i]]
    used = [v for v, good in zip(videos, ok) if good]
    block = {"source": str(source), "n_videos": len(videos), "n_evaluated": len(used), "failed": failed,
             "headline": "no_tta", "views": {}}
    if not used:
        return block, []
    ood_features = [pooled_features(feats[m.backbone], ok) for m in model.members]
    ood_outputs = []
    for m in model.members:
        x = torch.stack([v.features for v, good in zip(feats[m.backbone], ok) if good])
        mask = torch.stack([v.mask for v, good in zip(feats[m.backbone], ok) if good])
        ood_outputs.append(predict_outputs(m.head.to(device), x, mask, device))
    kinds = [v.kind for v in used]
    records = []
    for key, s in selections.items():
        id_sel = [(lg[:, s], e[:, s]) for lg, e in id_outputs]
        ood_sel = [(lg[:, s], e[:, s]) for lg, e in ood_outputs]
        probs = pipeline_outputs(id_sel, model.temperature)["probabilities"].numpy()
        id_table = score_table(model, id_sel, [f[:, s].mean(1) for f in id_features])
        ood_table = score_table(model, ood_sel, [f[:, s].mean(1) for f in ood_features])
        block["views"][key] = ood_metrics(model, id_table, ood_table, labels, probs, kinds)
        if key == block["headline"]:
            ood_probs = pipeline_outputs(ood_sel, model.temperature)["probabilities"].numpy()
            for i, v in enumerate(used):
                best = model.classes[int(ood_probs[i].argmax())]
                t = float(ood_table["trust"][i])
                records.append({"path": v.rel, "kind": v.kind, "predicted": best,
                                "label": "unknown" if t < model.threshold else best, "trust": t,
                                "confidence": float(ood_probs[i].max()),
                                "scores": {n: float(ood_table[n][i]) for n in ood_table if n != "trust"}})
    return block, records
