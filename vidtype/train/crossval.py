"""Grouped, stratified K-fold cross-validation of a run config, with a linear-probe baseline on the same folds.

    result = crossval("runs/footage/manifest.csv", "configs/default.yaml", folds=5, probe=True, out="runs/cv/x")
    result["summary"]["head"]["macro_f1"]        # {"mean": ..., "std": ..., "folds": [...]}

    vidtype crossval runs/footage/manifest.csv --config configs/default.yaml --probe --out runs/cv/x

What is cross-validated. The videos of DATA minus the run's *test split* — the split `vidtype train` makes with
the same config (`data.*` settings, so the same split.csv) — are dealt into K folds: whole groups (a manifest's
`group`, e.g. the source repository) at a time, stratified by class (largest groups first, each to the fold whose
per-class count lags furthest behind an equal share). The test split stays untouched, so settings chosen on the
cross-validation cannot have seen it (`include_test=True` folds every video instead).

Each fold mirrors `train()`: the other K-1 folds are split again, by group, into an inner train and validation
part (in the run's train:val proportion); every member of the config (backbones x members, their seeds) is fitted
on all cached training views of the inner train part, early-stopped on the clean view of the inner validation
part, a temperature is fitted there, and the members' probabilities are combined as the pipeline does. The
held-out fold is scored on its clean view (no TTA). Features come from the feature cache with exactly the views
`train()` uses, so a sweep over head or optimiser settings decodes nothing, and the final `vidtype train` run
finds its features too; missing views are extracted first.

The probe: the clean view's frame features of the first backbone, `probe_frames` (8) evenly spaced valid frames
of the cached sample, mean- and std-pooled over time, standardised, and a scikit-learn LogisticRegression
(balanced class weights) fitted on all K-1 folds. It is the "what do frozen features alone give" baseline.

Output (`out`): crossval.json (config, folds, per-fold and summary metrics, out-of-fold predictions) and
crossval.md (a table: mean ± std over folds — sample standard deviation — of macro-F1, accuracy, per-class F1;
and the pooled out-of-fold macro-F1, ECE and NLL).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..evaluate.metrics import classification_metrics
from ..store import CLASSES
from .calibrate import ensemble_probs, fit_temperature
from .config import TrainConfig, config_hash
from .datasets import DatasetError, Item, load_dataset, split_items
from .features import stack_usable, training_views
from .loop import FeatureSet, fit, predict_logits
from .runner import cache_features, head_config, member_plan, resolve_config, resolve_device

log = logging.getLogger(__name__)

PROBE_FRAMES = 8


def assign_folds(items: list[Item], k: int, seed: int = 0) -> list[int]:
    """A fold index (0..k-1) per item: whole groups per fold, stratified by class; deterministic for a seed.

    Groups are dealt largest first (ties in seeded random order), each to the fold whose per-class counts lag
    furthest behind an equal share of the classes the group holds (ties: the fold with fewer items).
    """
    if k < 2:
        raise DatasetError(f"cross-validation needs at least 2 folds (got {k})")
    groups: dict[str, list[int]] = defaultdict(list)
    for i, it in enumerate(items):
        groups[it.group].append(i)
    if len(groups) < k:
        raise DatasetError(f"{len(groups)} groups cannot fill {k} folds")
    totals = Counter(it.label for it in items)
    counts = [Counter() for _ in range(k)]
    sizes = [0] * k
    names = sorted(groups)
    random.Random(seed).shuffle(names)
    names.sort(key=lambda g: -len(groups[g]))
    fold_of = [0] * len(items)
    for name in names:
        labels = Counter(items[i].label for i in groups[name])

        def deficit(f: int) -> float:
            return sum((totals[c] / k - counts[f][c]) * n for c, n in labels.items())

        best = max(range(k), key=lambda f: (deficit(f), -sizes[f], -f))
        for i in groups[name]:
            fold_of[i] = best
            counts[best][items[i].label] += 1
        sizes[best] += len(groups[name])
    return fold_of


def cv_items(data, cfg: TrainConfig, include_test: bool = False, classes=CLASSES) -> tuple[list[Item], int]:
    """The videos to cross-validate: DATA without the run's test split (unless `include_test`); and how many
    test videos were held back."""
    items = data if isinstance(data, list) else load_dataset(data, classes)
    if include_test:
        return items, 0
    split_items(items, cfg.data.val_fraction, cfg.data.test_fraction, cfg.data.split_seed)
    pool = [it for it in items if it.split != "test"]
    return pool, len(items) - len(pool)


def crossval(data, config: TrainConfig | str | Path | dict | None = None, overrides=None, *, folds: int = 5,
             probe: bool = False, out: str | Path | None = None, include_test: bool = False,
             fold_seed: int | None = None, group_by: tuple[str, ...] | list[str] = (), probe_frames: int = PROBE_FRAMES,
             probe_c: float = 1.0, heads: bool = True, progress: bool = True) -> dict:
    """Cross-validate the run config on `data` (a manifest or class folders); return (and write) the results.

    `heads=False` runs only the probe (with `probe=True`). `group_by`: columns (e.g. source_format) to also
    report the pooled out-of-fold metrics per value of. `fold_seed` defaults to the config's data.split_seed.
    """
    cfg = resolve_config(config, overrides)
    classes = CLASSES
    t_start = time.perf_counter()
    items, n_test = cv_items(data, cfg, include_test, classes)
    for column in group_by:  # fail early on a misspelled column
        items[0].column(column)
    fold_seed = cfg.data.split_seed if fold_seed is None else fold_seed
    fold_of = assign_folds(items, folds, fold_seed)
    device = resolve_device(cfg.device)

    views = training_views(cfg.features.views, cfg.features.jitter)
    keep, data_by_backbone = stack_usable({b: cache_features(items, b, views, cfg, device, progress)
                                           for b in cfg.backbones})
    for i in sorted(set(range(len(items))) - set(keep)):
        log.warning("left out of cross-validation (no features): %s", items[i].rel)
    items, fold_of = [items[i] for i in keep], np.array([fold_of[i] for i in keep])
    labels = torch.tensor([classes.index(it.label) for it in items], dtype=torch.long)

    models: dict[str, list[dict]] = {}
    oof: dict[str, np.ndarray] = {}
    if heads:
        models["head"], oof["head"] = [], np.zeros((len(items), len(classes)))
    if probe:
        models["probe"], oof["probe"] = [], np.zeros((len(items), len(classes)))
    for k in range(folds):
        test_idx = np.flatnonzero(fold_of == k)
        rest = np.flatnonzero(fold_of != k)
        y_test = labels[test_idx].numpy()
        if heads:
            t0 = time.perf_counter()
            fold = fit_fold(cfg, items, rest, labels, data_by_backbone, device, k, progress)
            probs = fold.probabilities(data_by_backbone, test_idx)
            oof["head"][test_idx] = probs
            models["head"].append(_fold_row(k, y_test, probs, classes, time.perf_counter() - t0, fold.facts))
        if probe:
            t0 = time.perf_counter()
            x = data_by_backbone[cfg.backbones[0]]
            probs = _fit_fold_probe(x, labels, rest, test_idx, probe_frames, probe_c, cfg.seed)
            oof["probe"][test_idx] = probs
            models["probe"].append(_fold_row(k, y_test, probs, classes, time.perf_counter() - t0, {}))
        log.info("fold %d/%d done", k + 1, folds)

    y = labels.numpy()
    result = {
        "data": str(data) if not isinstance(data, list) else None,
        "n_videos": len(items), "n_test_held_out": n_test, "include_test": include_test, "folds": folds,
        "fold_seed": fold_seed, "fold_sizes": [int((fold_of == k).sum()) for k in range(folds)],
        "fold_groups": [len({it.group for it, f in zip(items, fold_of) if f == k}) for k in range(folds)],
        "config": cfg.to_dict(), "config_hash": config_hash(cfg), "classes": list(classes),
        "probe": {"frames": probe_frames, "C": probe_c, "backbone": cfg.backbones[0]} if probe else None,
        "method": ("grouped stratified K-fold over the non-test videos; per fold the head(s) are trained as "
                   "`vidtype train` would (inner grouped train/val split, early stopping and temperature on the "
                   "inner val), scored on the held-out fold's clean view (no TTA). mean ± sample std over folds."),
        "models": {},
        "seconds": round(time.perf_counter() - t_start, 1),
    }
    for name, rows in models.items():
        pooled = classification_metrics(y, oof[name], classes)
        groups = {}
        for column in group_by:
            values = np.array([it.column(column) for it in items])
            groups[column] = {v: _brief(classification_metrics(y[values == v], oof[name][values == v], classes))
                              for v in sorted(set(values))}
        result["models"][name] = {"folds": rows, "summary": summarise(rows, classes), "pooled": _brief(pooled),
                                  "pooled_confusion": pooled["confusion_matrix"], "groups": groups}
    result["predictions"] = [{"path": it.rel, "label": it.label, "group": it.group, "fold": int(f),
                              **{f"pred_{m}": classes[int(oof[m][i].argmax())] for m in oof},
                              **{c: it.column(c) for c in group_by}}
                             for i, (it, f) in enumerate(zip(items, fold_of))]
    if out is not None:
        write_results(result, out)
    return result


@dataclass
class FoldFit:
    """The members of one fold, trained as `train()` would on the fold's inner train part."""
    heads: list  # (backbone name, TemporalHead), one per member
    temperature: float
    train_idx: np.ndarray  # the videos the heads were fitted on (indices into the cross-validated items)
    facts: dict

    def probabilities(self, data: dict, idx: np.ndarray) -> np.ndarray:
        """The ensemble's probabilities on the clean view of the videos `idx`."""
        i = torch.as_tensor(idx)
        logits = [predict_logits(h, data[b][0][i, :1], data[b][1][i, :1], "cpu") for b, h in self.heads]
        return ensemble_probs(torch.stack(logits), self.temperature).numpy()


def fit_fold(cfg: TrainConfig, items: list[Item], rest: np.ndarray, labels: torch.Tensor, data: dict, device,
             k: int, progress: bool) -> FoldFit:
    """Train every member on the videos `rest` as `train()` would: an inner grouped train/val split, early
    stopping and the temperature on the inner val part. `data`: {backbone: (features (N,V,T,D), mask (N,V,T))}."""
    inner = [replace(items[i], split=None) for i in rest]  # a manifest's split column means nothing here
    val_fraction = cfg.data.val_fraction / max(1e-9, 1.0 - cfg.data.test_fraction)
    split_items(inner, val_fraction, 0.0, cfg.data.split_seed + 7919 * (k + 1))
    tr = rest[[it.split == "train" for it in inner]]
    tr_t, va = torch.as_tensor(tr), torch.as_tensor(rest[[it.split == "val" for it in inner]])
    heads, val_logits, epochs = [], [], []
    for i, (name, seed) in enumerate(member_plan(cfg)):
        x, m = data[name]
        train_set = FeatureSet(x[tr_t], m[tr_t], labels[tr_t])
        val_set = FeatureSet(x[va, :1], m[va, :1], labels[va]) if len(va) else None
        hc = head_config(cfg, x.shape[-1], len(CLASSES))
        result = fit(train_set, val_set, hc, cfg.optim, seed=seed, device=device, progress=progress,
                     desc=f"fold {k} m{i}")
        heads.append((name, result.head.cpu()))
        epochs.append(result.best_epoch)
        if val_set is not None:
            val_logits.append(predict_logits(result.head, val_set.features, val_set.mask, "cpu"))
    temperature = 1.0
    if val_logits and cfg.calibrate:
        temperature = fit_temperature(torch.stack(val_logits), labels[va])
    return FoldFit(heads, temperature, tr, {"n_train": len(tr), "n_val": len(va), "best_epochs": epochs,
                                             "temperature": temperature})


def probe_features(features: torch.Tensor, mask: torch.Tensor, frames: int = PROBE_FRAMES) -> np.ndarray:
    """(N, T, D) frame features + (N, T) mask -> (N, 2D): mean and std over `frames` evenly spaced valid frames."""
    out = []
    for f, m in zip(features.float(), mask):
        valid = f[m] if m.any() else f[:1]
        idx = np.unique(np.linspace(0, len(valid) - 1, min(frames, len(valid))).round().astype(int))
        sel = valid[idx]
        out.append(torch.cat([sel.mean(0), sel.std(0, unbiased=False)]).numpy())
    return np.stack(out)


def _fit_fold_probe(data: tuple[torch.Tensor, torch.Tensor], labels: torch.Tensor, rest: np.ndarray,
                    test_idx: np.ndarray, frames: int, c: float, seed: int) -> np.ndarray:
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        raise DatasetError("the probe needs scikit-learn: pip install 'vidtype[train]'") from None
    x, m = data
    x_train = probe_features(x[torch.as_tensor(rest), 0], m[torch.as_tensor(rest), 0], frames)
    x_test = probe_features(x[torch.as_tensor(test_idx), 0], m[torch.as_tensor(test_idx), 0], frames)
    y_train = labels[torch.as_tensor(rest)].numpy()
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000, class_weight="balanced",
                                                             random_state=seed))
    clf.fit(x_train, y_train)
    probs = np.zeros((len(test_idx), len(CLASSES)))
    probs[:, clf.classes_] = clf.predict_proba(x_test)
    return probs


def _brief(m: dict) -> dict:
    return {"n": m["n"], "accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "ece": m["ece"], "nll": m["nll"],
            "f1": {c: v["f1"] for c, v in m["per_class"].items()},
            "support": {c: v["support"] for c, v in m["per_class"].items()}}


def _fold_row(k: int, y: np.ndarray, probs: np.ndarray, classes, seconds: float, facts: dict) -> dict:
    return {"fold": k, **_brief(classification_metrics(y, probs, classes)), "seconds": round(seconds, 1), **facts}


def summarise(rows: list[dict], classes) -> dict:
    """Mean and sample standard deviation over folds of macro-F1, accuracy and each class's F1."""
    def stat(values: list[float]) -> dict:
        v = np.asarray(values, float)
        return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0, "folds": v.tolist()}

    return {"macro_f1": stat([r["macro_f1"] for r in rows]), "accuracy": stat([r["accuracy"] for r in rows]),
            "f1": {c: stat([r["f1"][c] for r in rows]) for c in classes}}


def markdown(result: dict) -> str:
    """The results as Markdown: a summary table (mean ± std over folds), per-fold rows, per-group pooled rows."""
    classes = result["classes"]
    pm = lambda s: f"{s['mean']:.3f} ± {s['std']:.3f}"  # noqa: E731
    cfg = result["config"]
    lines = [f"# Cross-validation: {cfg['name']} ({result['config_hash']})", "",
             f"- videos: {result['n_videos']} in {result['folds']} folds grouped by `group` "
             f"(sizes {result['fold_sizes']}, groups {result['fold_groups']}); "
             + ("test split included" if result["include_test"] else
                f"the run's test split ({result['n_test_held_out']} videos) held out"),
             f"- backbones {cfg['backbones']} x {cfg['members']} member(s); frames {cfg['features']['frames']}, "
             f"views {cfg['features']['views']}; head {cfg['head'] or 'defaults'}; optim epochs "
             f"{cfg['optim']['epochs']}, lr {cfg['optim']['lr']}, label smoothing {cfg['optim']['label_smoothing']}",
             f"- {result['method']}", "",
             "| model | macro-F1 | accuracy | " + " | ".join(f"F1 {c}" for c in classes)
             + " | pooled macro-F1 | pooled ECE | pooled NLL |",
             "|---|---|---|" + "---|" * len(classes) + "---|---|---|"]
    for name, block in result["models"].items():
        s = block["summary"]
        lines.append(f"| {name} | {pm(s['macro_f1'])} | {pm(s['accuracy'])} | "
                     + " | ".join(pm(s["f1"][c]) for c in classes) + f" | {block['pooled']['macro_f1']:.3f} | "
                     f"{block['pooled']['ece']:.3f} | {block['pooled']['nll']:.3f} |")
    lines += ["", "## Per fold", "", "| model | fold | videos | macro-F1 | accuracy | "
              + " | ".join(f"F1 {c}" for c in classes) + " |", "|---|---|---|---|---|" + "---|" * len(classes)]
    for name, block in result["models"].items():
        for r in block["folds"]:
            lines.append(f"| {name} | {r['fold']} | {r['n']} | {r['macro_f1']:.3f} | {r['accuracy']:.3f} | "
                         + " | ".join(f"{r['f1'][c]:.3f}" for c in classes) + " |")
    for name, block in result["models"].items():
        for column, values in block["groups"].items():
            lines += ["", f"## {name}: out-of-fold predictions by {column}", "",
                      f"| {column} | videos | macro-F1 | accuracy | " + " | ".join(f"F1 {c}" for c in classes) + " |",
                      "|---|---|---|---|" + "---|" * len(classes)]
            for v, m in values.items():
                lines.append(f"| {v} | {m['n']} | {m['macro_f1']:.3f} | {m['accuracy']:.3f} | "
                             + " | ".join(f"{m['f1'][c]:.2f}" if m["support"][c] else "–" for c in classes) + " |")
    return "\n".join(lines) + "\n"


def write_results(result: dict, out: str | Path) -> dict[str, Path]:
    """Write crossval.json and crossval.md into the directory `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"json": out / "crossval.json", "markdown": out / "crossval.md"}
    files["json"].write_text(json.dumps(result, indent=2))
    files["markdown"].write_text(markdown(result))
    return files
