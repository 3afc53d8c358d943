"""Fitting trust.py's out-of-distribution statistics for a trained model: at the end of training, or later.

    vidtype trust-fit DATA --model runs/m1 --ood-generated 60 [--keep 0.95]

refits the trust of an existing model directory without retraining its heads: it reads the clean-view features
of the model's training and validation videos (OUT/split.csv) from the feature cache, fits the class Gaussians,
ViM subspaces and KNN banks on the training videos, standardises the scores and sets the threshold on the
validation videos and, given generated out-of-distribution clips (vidtype.corpus.ood), lets them choose the
score weights. model.json and trust.safetensors are rewritten in place. Training (runner.py) calls
`fit_model_trust` the same way, with `trust_ood` generated clips.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from ..store import Model, load_model, save_model
from .calibrate import pipeline_outputs
from .features import CLEAN, extract_features
from .loop import predict_outputs

log = logging.getLogger(__name__)

FITTED_ON = "training videos (class Gaussians, ViM subspace, KNN bank), validation videos (standardisation, " \
            "trust reference, threshold)"
FITTED_ON_OOF = "training videos (class Gaussians, ViM subspace, KNN bank); out-of-fold scores of the training " \
                "and validation videos (standardisation, trust reference, threshold)"


def generated_ood(cache_dir: str | Path, n: int, seed: int = 0) -> list[Path]:
    """Paths of `n` generated out-of-distribution clips, written once under CACHE/generated-ood/seed<seed>/."""
    from ..corpus.ood import make_ood_set
    from .datasets import read_table

    folder = Path(cache_dir).expanduser() / "generated-ood" / f"seed{seed}"
    manifest = make_ood_set(folder, n, seed)
    return [folder / row["path"] for row in read_table(manifest)]


def cached_clean_view(members, videos: dict[str, list], labels=None, device="cpu") -> dict:
    """What trust.py is fitted on, from cached VideoFeatures ({backbone: [VideoFeatures]}, first view = clean):
    per member `outputs` (logits (N,1,C), embeddings (N,1,E)) and mean backbone `features` (N,D), and the
    `labels` (N,) when given. Videos that failed for any backbone are left out, with their labels."""
    from ..trust import pool_features

    names = list(videos)
    ok = [all(videos[b][i].error is None for b in names) for i in range(len(videos[names[0]]))]
    out = {"outputs": [], "features": [], "labels": None if labels is None else
           torch.tensor([y for y, good in zip(labels, ok) if good], dtype=torch.long)}
    if not any(ok):
        return out
    for m in members:
        kept = [v for v, good in zip(videos[m.backbone], ok) if good]
        x, mask = torch.stack([v.features[:1] for v in kept]), torch.stack([v.mask[:1] for v in kept])
        out["outputs"].append(predict_outputs(m.head, x, mask, device))
        out["features"].append(pool_features(x[:, 0], mask[:, 0]))
    return out


def out_of_fold_scores(cfg, items: list, data: dict, labels: torch.Tensor, folds: int, device,
                       progress: bool = True) -> torch.Tensor:
    """(N, 6) raw trust scores (trust.SCORES order) of every video of `items`, each from members that never saw
    its group: grouped K-fold as in crossval.py; per fold the members are trained as `train()` would on the
    other folds, the statistics are fitted on what those members trained on, and the held-out fold is scored.

    Why: the threshold is a low quantile of in-distribution scores. Validation videos alone are few (a 5 %
    quantile of 60 is the third-lowest score) and flattered, having chosen the members' epoch and temperature;
    out-of-fold scores of all training and validation videos are what an unseen video looks like, five times
    over. `data`: {backbone: (features (N,V,T,D), mask (N,V,T))}, the training views of every video.
    """
    import numpy as np

    from ..trust import SCORES, fit_statistics, pool_features, raw_scores
    from .crossval import assign_folds, fit_fold

    fold_of = np.array(assign_folds(items, folds, cfg.data.split_seed))
    raw = torch.full((len(items), len(SCORES)), float("nan"))
    for k in range(folds):
        held, rest = np.flatnonzero(fold_of == k), np.flatnonzero(fold_of != k)
        if not len(held):
            continue
        fold = fit_fold(cfg, items, rest, labels, data, device, k, progress)

        def clean_view(idx: np.ndarray) -> dict:
            i = torch.as_tensor(idx)
            outs = [predict_outputs(h, data[b][0][i, :1], data[b][1][i, :1], "cpu") for b, h in fold.heads]
            return pipeline_outputs(outs, fold.temperature) | {
                "features": [pool_features(data[b][0][i, 0], data[b][1][i, 0]) for b, _ in fold.heads]}

        fitted = clean_view(fold.train_idx) | {"labels": labels[torch.as_tensor(fold.train_idx)]}
        classifiers = [(h.classifier.weight.detach(), h.classifier.bias.detach()) for _, h in fold.heads]
        stats = fit_statistics(fitted, int(labels.max()) + 1, classifiers)
        scored = clean_view(held)
        raw[torch.as_tensor(held)] = raw_scores(scored["probabilities"], scored["logits"], scored["embeddings"],
                                                stats, fold.temperature, scored["features"])
        log.info("trust: out-of-fold scores of fold %d/%d done", k + 1, folds)
    return raw


def fit_model_trust(members, train: dict, val: dict, temperature: float, keep: float, n_classes: int,
                    ood: dict | None = None, reference: torch.Tensor | None = None) -> tuple[dict | None, float, dict]:
    """Fit trust.py's statistics from `cached_clean_view` dicts of training and validation videos (and, to choose
    the score weights, of generated out-of-distribution clips: `ood`). `reference`: out-of-fold raw scores
    (`out_of_fold_scores`) that replace the validation videos' own for the standardisation, the weights and
    the threshold.

    `keep`: the share of validation videos the threshold keeps labelled (0: no `unknown`, threshold 0).
    Returns (stats or None when the data is too thin, threshold, facts for model.json).
    """
    from ..trust import describe, fit_trust

    counts = torch.bincount(train["labels"], minlength=n_classes)
    if (counts < 2).any() or len(val["labels"]) < 2:
        log.warning("trust statistics not fitted: every class needs 2+ training videos and validation needs 2+")
        return None, 0.0, {"fitted": False}

    def prepared(part: dict | None) -> dict | None:
        if not part or not part["outputs"]:
            return None
        out = pipeline_outputs(part["outputs"], temperature) | {"features": part.get("features")}
        return out | ({"labels": part["labels"]} if part.get("labels") is not None else {})

    train, val, ood = prepared(train), prepared(val), prepared(ood)
    classifiers = [(m.head.classifier.weight.detach().cpu(), m.head.classifier.bias.detach().cpu()) for m in members]
    selection = {}
    stats, threshold = fit_trust(train, val, n_classes, temperature=temperature, target_tpr=keep if keep > 0 else 0.95,
                                 classifiers=classifiers, ood=ood, reference=reference, report=selection)
    threshold = threshold if keep > 0 else 0.0
    kind = "validation" if reference is None else "out-of-fold"
    facts = {"fitted": True, **describe(stats), "keep": keep, "threshold": threshold, "reference": kind,
             "fitted_on": FITTED_ON if reference is None else FITTED_ON_OOF,
             "weights_chosen_on": "equal weights (no generated out-of-distribution clips)"}
    if ood is not None:
        facts["weights_chosen_on"] = (f"{kind} videos vs {len(ood['logits'])} generated out-of-distribution clips "
                                      "(vidtype.corpus.ood): lowest FPR at the kept share, then AUROC, then margin")
        facts["generated_ood"] = {k: {m: round(v, 4) for m, v in s.items()} for k, s in selection.items()}
    return stats, threshold, facts


def reference_scores(cfg, items: list, device, progress: bool = True, source=None) -> torch.Tensor | None:
    """The out-of-fold raw scores that set the threshold (see `out_of_fold_scores`): of `items` (the run's
    training and validation videos), from the run's config and its feature cache (or feature `source`). With
    `cfg.trust_reference` "COLUMN=VALUE", every video still takes part in the folds, but only the videos whose
    manifest column has that value make the reference: e.g. "corpus=footage", when a recorded corpus helps
    training but real footage is what the threshold must keep. None when no video is left."""
    from ..store import CLASSES
    from .features import stack_usable, training_views
    from .runner import cache_features

    views = training_views(cfg.features.views, cfg.features.jitter)
    keep, data = stack_usable({b: cache_features(items, b, views, cfg, device, progress, source)
                               for b in cfg.backbones})
    items = [items[i] for i in keep]
    labels = torch.tensor([CLASSES.index(it.label) for it in items], dtype=torch.long)
    raw = out_of_fold_scores(cfg, items, data, labels, cfg.trust_folds, device, progress)
    if cfg.trust_reference:
        column, _, value = cfg.trust_reference.partition("=")
        raw = raw[torch.tensor([it.column(column) == value for it in items], dtype=torch.bool)]
    return raw if len(raw) else None


def _train_config(model_dir: Path):
    from .config import ConfigError, load_config

    for name in ("train_config.yaml", "train_config.json"):
        if (model_dir / name).is_file():
            try:
                return load_config(model_dir / name)
            except ConfigError as e:
                log.warning("ignoring %s: %s", model_dir / name, e)
    return None


def refit_trust(data: str | Path, model: str | Path, *, ood_generated: int = 0, ood_seed: int = 0,
                keep: float | None = None, folds: int | None = None, cache_dir: str | Path | None = None,
                device: str | None = None, runtime: str = "auto", workers: int = 2, progress: bool = True) -> Model:
    """Refit the trust of the model directory `model` on its own split of `data`, and save it in place.

    keep: share of validation videos kept labelled (default: the run's trust_keep, else 0.95). ood_generated:
    generated out-of-distribution clips choosing the score weights (0: equal weights). folds: K > 1 sets the
    threshold on K-fold out-of-fold scores of the training and validation videos (`out_of_fold_scores`; default:
    the run's trust_folds; needs the run's train_config). cache_dir: the feature cache (default: the run's, else
    the default cache).
    """
    from .config import default_cache_dir
    from .datasets import DatasetError, apply_split, load_dataset

    model_dir = Path(model)
    model = load_model(model_dir)
    split_file = model_dir / "split.csv"
    if not split_file.is_file():
        raise DatasetError(f"refitting trust needs the model's split.csv (none in {model_dir})")
    cfg = _train_config(model_dir)
    keep = keep if keep is not None else (cfg.trust_keep if cfg else 0.95)
    cache = Path(cache_dir) if cache_dir else (cfg.cache_dir() if cfg else default_cache_dir())
    classes = tuple(model.classes)
    items = apply_split(load_dataset(data, classes), split_file)
    sampling = (model.extra.get("training") or {}).get("sampling") or {}
    frames, sharpen = int(sampling.get("frames", model.frames)), bool(sampling.get("sharpen", False))
    dev = torch.device(device) if device else torch.device("cuda" if torch.cuda.is_available() else "cpu")

    for m in model.members:
        m.head.to(dev)

    def outputs(videos: list, labels=None) -> dict:
        feats = {b: extract_features(videos, b, [CLEAN], cache, frames=frames, sharpen=sharpen, device=dev,
                                     runtime=runtime, workers=workers, progress=progress) for b in model.backbones}
        part = cached_clean_view(model.members, feats, labels, dev)
        if not part["outputs"]:
            raise DatasetError("none of these videos could be decoded")
        return part

    def labelled(split: str) -> dict:
        chosen = [it for it in items if it.split == split]
        if not chosen:
            raise DatasetError(f"no video of {data} is in the {split!r} split of {split_file}")
        return outputs(chosen, [classes.index(it.label) for it in chosen])

    train, val = labelled("train"), labelled("val")
    ood = outputs(generated_ood(cache, ood_generated, ood_seed)) if ood_generated > 0 else None
    folds = folds if folds is not None else (cfg.trust_folds if cfg else 0)
    reference = None
    if folds > 1:
        if cfg is None:
            raise DatasetError("out-of-fold trust needs the run's train_config.yaml to retrain the fold members")
        from dataclasses import replace

        run = replace(cfg, trust_folds=folds, features=replace(cfg.features, cache_dir=str(cache)))
        reference = reference_scores(run, [it for it in items if it.split in ("train", "val")], dev, progress)
    stats, threshold, facts = fit_model_trust(model.members, train, val, model.temperature, keep, len(classes), ood,
                                              reference)
    model.trust, model.threshold = stats, threshold
    model.extra.setdefault("training", {})["trust"] = facts | {"refitted_with": "vidtype trust-fit"}
    for m in model.members:
        m.head.cpu()
    save_model(model, model_dir)
    if stats is None:
        (model_dir / "trust.safetensors").unlink(missing_ok=True)
    return model
