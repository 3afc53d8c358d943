"""How much to trust a prediction: an out-of-distribution score in 0..1, and `unknown` below a threshold.

Six post-hoc scores, all from what the model already computes (higher = more in-distribution):
  msp          maximum softmax probability of the calibrated, ensemble-averaged prediction
  energy       T * logsumexp(logits / T)
  mahalanobis  minus the smallest Mahalanobis distance of the attention-pooled embedding to a class mean
               (class means and a shared covariance fitted on training embeddings)
  vim          ViM: energy of the member's own logits minus alpha x the norm of the embedding's residual outside
               the principal subspace of the training embeddings (Wang et al. 2022, as in OpenOOD)
  knn          minus the distance of the L2-normalised embedding to its k-th nearest training embedding
               (Sun et al. 2022)
  feature_knn  the same on the backbone's features averaged over the video's frames: the frozen ImageNet
               features still tell microscopy or a thermal camera from camera footage when the head, trained on
               four classes only, maps both near "natural"
The embedding and feature scores are computed per ensemble member and averaged. Each score is standardised by
its mean and spread on in-distribution validation videos (or on out-of-fold scores of all training and validation
videos, see `fit_trust`'s `reference`); the combined score is their weighted sum. The weights
are equal unless generated out-of-distribution clips are given to `fit_trust`, which then picks them
(`select_weights`).
`trust` is the share of the in-distribution reference videos whose combined score is lower: monotone in the
combined score, 0..1, and calibrated in the sense that a threshold of 0.05 keeps about 95 % of
in-distribution videos. Without fitted statistics, trust falls back to the rescaled maximum softmax probability.

All statistics are tensors (a flat dict, saved as trust.safetensors by store.py):
  m{i}.means, m{i}.precision               Mahalanobis, member i
  m{i}.weight, m{i}.bias, m{i}.vim_origin, m{i}.vim_residual, m{i}.vim_alpha     ViM, member i
  m{i}.knn_bank, knn_k                     KNN: normalised training embeddings of member i, and k
  m{i}.feature_bank                        feature KNN: normalised mean backbone features of the training videos
  score_mean, score_std, score_weights     standardisation and weights, in SCORES order
  score_reference                          (N, S) each score's sorted validation values (per-score thresholds)
  reference                                sorted combined scores of the validation videos (the trust CDF)
  temperature, target_tpr
A score that cannot be computed for a video (no features passed) counts as the validation mean (z = 0).
Models fitted before ViM and KNN existed hold 3-long score vectors; they keep working (first three scores).
"""

from __future__ import annotations

import itertools

import torch

SCORES = ("msp", "energy", "mahalanobis", "vim", "knn", "feature_knn")
KNN_K = 5
# Subsets of scores with equal weights: a finer grid (0, 0.5, 1) fitted the noise of 60 generated clips and picked
# weightings that did worse on real out-of-distribution video.
WEIGHT_GRID = (0.0, 1.0)


def msp_trust(probabilities: torch.Tensor) -> float:
    """Rescaled maximum softmax probability of a (C,) probability vector: 0 (uniform) .. 1 (certain)."""
    c = probabilities.numel()
    return float(((probabilities.max() - 1.0 / c) / (1.0 - 1.0 / c)).clamp(0.0, 1.0))


# ---- fitting the per-member statistics on training embeddings --------------------------------------------------

def fit_gaussian(embeddings: torch.Tensor, labels: torch.Tensor, n_classes: int, shrinkage: float = 0.1):
    """Class means (C,E) and the precision matrix (E,E) of the shared, shrunk within-class covariance."""
    embeddings = embeddings.double()
    means = torch.stack([embeddings[labels == c].mean(0) for c in range(n_classes)])
    centred = embeddings - means[labels]
    cov = centred.T @ centred / max(len(embeddings) - 1, 1)
    # Shrink towards a scaled identity: a few hundred videos cannot pin down a full covariance.
    cov = (1 - shrinkage) * cov + shrinkage * cov.trace() / cov.shape[0] * torch.eye(cov.shape[0], dtype=cov.dtype)
    return means.float(), torch.linalg.inv(cov).float()


def fit_vim(embeddings: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> dict[str, torch.Tensor]:
    """ViM statistics of one member from its training embeddings (N,E) and its classifier (C,E), (C,).

    The principal subspace keeps half the embedding's dimensions (ViM's rule for small features), and never more
    than half the training videos: directions the training set does not span all belong to the residual.
    """
    e, w, b = embeddings.double(), weight.double(), bias.double()
    origin = -(torch.linalg.pinv(w) @ b)  # the point the classifier maps to zero logits
    centred = e - origin
    _, vectors = torch.linalg.eigh(centred.T @ centred / len(e))  # eigenvalues ascending
    dim = e.shape[1]
    principal = max(1, min(dim // 2, (len(e) - 1) // 2))
    residual = vectors[:, : dim - principal]
    norms = (centred @ residual).norm(dim=1)
    max_logit = (e @ w.T + b).max(dim=1).values
    # alpha matches the residual's scale to the logits' (OpenOOD); abs keeps the score's direction if logits < 0.
    alpha = max_logit.mean().abs() / norms.mean().clamp(min=1e-12)
    return {"weight": weight.float(), "bias": bias.float(), "vim_origin": origin.float(),
            "vim_residual": residual.float().contiguous(), "vim_alpha": alpha.float()}


def fit_statistics(train: dict, n_classes: int, classifiers=None, knn_k: int = KNN_K) -> dict[str, torch.Tensor]:
    """Per-member Mahalanobis, KNN, (with `classifiers`, one (weight, bias) per member) ViM and (with
    train["features"]) feature-KNN statistics."""
    stats = {}
    for i, f in enumerate(train.get("features") or []):
        stats[f"m{i}.feature_bank"] = _normalise(f.float())
    for i, e in enumerate(train["embeddings"]):
        stats[f"m{i}.means"], stats[f"m{i}.precision"] = fit_gaussian(e, train["labels"], n_classes)
        stats[f"m{i}.knn_bank"] = _normalise(e.float())
        if classifiers is not None:
            w, b = classifiers[i]
            stats.update({f"m{i}.{k}": v for k, v in fit_vim(e, w.detach().cpu(), b.detach().cpu()).items()})
    stats["knn_k"] = torch.tensor(max(1, min(knn_k, len(train["labels"]))))
    return stats


# ---- computing the scores --------------------------------------------------------------------------------------

def _normalise(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True).clamp(min=1e-12)


def pool_features(features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """(..., T, D) backbone features of T frames (and a (..., T) mask, True = a real frame) -> (..., D) mean."""
    if mask is None:
        return features.float().mean(dim=-2)
    m = mask[..., None].float()
    return (features.float() * m).sum(dim=-2) / m.sum(dim=-2).clamp(min=1)


def _mahalanobis(e: torch.Tensor, stats: dict, i: int) -> torch.Tensor:
    diff = e[:, None, :] - stats[f"m{i}.means"][None]  # (N, C, E)
    return -torch.einsum("nce,ef,ncf->nc", diff, stats[f"m{i}.precision"], diff).min(dim=1).values


def _vim(e: torch.Tensor, stats: dict, i: int) -> torch.Tensor:
    logits = e @ stats[f"m{i}.weight"].T + stats[f"m{i}.bias"]
    residual = ((e - stats[f"m{i}.vim_origin"]) @ stats[f"m{i}.vim_residual"]).norm(dim=1)
    return torch.logsumexp(logits, dim=1) - stats[f"m{i}.vim_alpha"] * residual


def _knn(x: torch.Tensor, bank: torch.Tensor, k: int) -> torch.Tensor:
    d = torch.cdist(_normalise(x), bank)  # (N, bank)
    return -d.topk(min(k, len(bank)), dim=1, largest=False).values[:, -1]


def _embedding_knn(e: torch.Tensor, stats: dict, i: int) -> torch.Tensor:
    return _knn(e, stats[f"m{i}.knn_bank"], int(stats["knn_k"]))


def _feature_knn(f: torch.Tensor, stats: dict, i: int) -> torch.Tensor:
    return _knn(f, stats[f"m{i}.feature_bank"], int(stats["knn_k"]))


# name -> (the statistic that must be fitted, function, which input it reads)
_MEMBER_SCORES = {"mahalanobis": ("means", _mahalanobis, "embeddings"), "vim": ("vim_origin", _vim, "embeddings"),
                  "knn": ("knn_bank", _embedding_knn, "embeddings"),
                  "feature_knn": ("feature_bank", _feature_knn, "features")}


def fitted_scores(stats: dict) -> list[str]:
    """The names of the scores `stats` holds the statistics for."""
    return [s for s in SCORES if s not in _MEMBER_SCORES or f"m0.{_MEMBER_SCORES[s][0]}" in stats]


def raw_scores(probabilities, logits, embeddings, stats, temperature: float = 1.0, features=None) -> torch.Tensor:
    """The (N, 6) raw scores of N videos in SCORES order; higher = more in-distribution.

    `probabilities` (N,C) and `logits` (N,C) are ensemble averages; `embeddings` is one (N,E) tensor per member,
    `features` one (N,D) mean backbone feature per member (see `pool_features`), or None. A score that `stats`
    has no statistics for, or whose input is missing, is NaN.
    """
    inputs = {"embeddings": embeddings, "features": features}
    columns = [probabilities.max(dim=1).values, temperature * torch.logsumexp(logits / temperature, dim=1)]
    for name in SCORES[2:]:
        key, fn, source = _MEMBER_SCORES[name]
        if f"m0.{key}" in stats and inputs[source] is not None:
            columns.append(torch.stack([fn(x.float(), stats, i) for i, x in enumerate(inputs[source])]).mean(0))
        else:
            columns.append(torch.full((len(probabilities),), float("nan")))
    return torch.stack(columns, dim=1).float()


def standardise(raw: torch.Tensor, stats: dict) -> torch.Tensor:
    """Scores in validation standard deviations from the validation mean, (N,6) -> (N,S) (S: the fitted vector);
    a missing (NaN) score becomes 0, the validation mean."""
    k = len(stats["score_mean"])
    return torch.nan_to_num((raw[:, :k] - stats["score_mean"]) / stats["score_std"], nan=0.0)


def combine(raw: torch.Tensor, stats: dict) -> torch.Tensor:
    """Weighted sum of standardised scores, (N,6) -> (N,)."""
    return standardise(raw, stats) @ stats["score_weights"]


def trust_from_combined(combined: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Empirical CDF of the validation reference scores at `combined`: the trust in 0..1."""
    return torch.searchsorted(reference.contiguous(), combined.contiguous(), right=True).float() / len(reference)


def score_batch(probabilities, logits, embeddings, stats: dict | None, features=None) -> dict[str, torch.Tensor]:
    """Raw scores (N,6), combined score (N,) and trust (N,) of N videos (without stats: MSP trust only)."""
    if not stats:
        return {"trust": torch.tensor([msp_trust(p) for p in probabilities])}
    raw = raw_scores(probabilities, logits, embeddings, stats, float(stats["temperature"]), features)
    combined = combine(raw, stats)
    return {"raw": raw, "combined": combined, "trust": trust_from_combined(combined, stats["reference"])}


def trust_score(probabilities: torch.Tensor, logits: torch.Tensor, embeddings: list[torch.Tensor],
                stats: dict | None, features: list[torch.Tensor] | None = None) -> float:
    """The trust of one prediction: (C,) probabilities and logits, one (E,) embedding per member and, for the
    feature score, one (D,) mean backbone feature per member."""
    if not stats:
        return msp_trust(probabilities)
    out = score_batch(probabilities[None], logits[None], [e[None] for e in embeddings], stats,
                      None if features is None else [f[None] for f in features])
    return float(out["trust"][0])


# ---- separating in- from out-of-distribution -------------------------------------------------------------------

def auroc(id_scores: torch.Tensor, ood_scores: torch.Tensor) -> float:
    """P(an in-distribution score > an out-of-distribution score), ties counting half."""
    a, b = id_scores.double()[:, None], ood_scores.double()[None, :]
    return float((a > b).double().mean() + 0.5 * (a == b).double().mean())


def fpr_at_tpr(id_scores: torch.Tensor, ood_scores: torch.Tensor, tpr: float = 0.95) -> float:
    """Share of out-of-distribution scores at or above the threshold that keeps `tpr` of the in-distribution ones."""
    threshold = torch.quantile(id_scores.double(), 1.0 - tpr)
    return float((ood_scores.double() >= threshold).double().mean())


def separation(id_scores: torch.Tensor, ood_scores: torch.Tensor, tpr: float = 0.95) -> dict[str, float]:
    """AUROC, FPR at `tpr` and the margin: how far (in in-distribution standard deviations) the threshold keeping
    `tpr` of in-distribution scores lies above the `tpr` quantile of the out-of-distribution ones."""
    id_scores, ood_scores = id_scores.double(), ood_scores.double()
    threshold = torch.quantile(id_scores, 1.0 - tpr)
    margin = (threshold - torch.quantile(ood_scores, tpr)) / id_scores.std().clamp(min=1e-12)
    return {"auroc": auroc(id_scores, ood_scores), "fpr": fpr_at_tpr(id_scores, ood_scores, tpr),
            "margin": float(margin)}


def select_weights(z_id: torch.Tensor, z_ood: torch.Tensor, usable: list[bool], tpr: float = 0.95,
                   grid=WEIGHT_GRID) -> tuple[torch.Tensor, dict]:
    """Choose the score weights that best separate validation videos (z_id, standardised (N,S)) from generated
    out-of-distribution clips (z_ood): every weighting on `grid` of the usable scores is tried, and the lowest
    FPR at `tpr` wins, then the highest AUROC, then the widest margin (see `separation`).

    Returns the weights (S,) summing to 1 and {"chosen": separation, "equal": separation of equal weights}.
    """
    idx = [i for i, u in enumerate(usable) if u]
    equal = torch.zeros(len(usable))
    equal[idx] = 1.0 / len(idx)

    def evaluate(w: torch.Tensor) -> dict:
        return separation(z_id @ w, z_ood @ w, tpr)

    best, best_key, seen = equal, None, set()
    for combo in itertools.product(grid, repeat=len(idx)):
        if not any(combo):
            continue
        w = torch.zeros(len(usable))
        w[idx] = torch.tensor(combo, dtype=torch.float32) / sum(combo)
        signature = tuple(round(float(x), 6) for x in w)
        if signature in seen:  # (0.5, 0.5) and (1, 1) are the same weighting
            continue
        seen.add(signature)
        s = evaluate(w)
        key = (s["fpr"], -s["auroc"], -s["margin"])
        if best_key is None or key < best_key:
            best, best_key = w, key
    return best, {"chosen": evaluate(best), "equal": evaluate(equal)}


# ---- fitting ---------------------------------------------------------------------------------------------------

def fit_trust(train: dict, val: dict, n_classes: int, temperature: float = 1.0, use=SCORES,
              target_tpr: float = 0.95, *, classifiers=None, ood: dict | None = None,
              knn_k: int = KNN_K, reference: torch.Tensor | None = None,
              report: dict | None = None) -> tuple[dict, float]:
    """Fit the trust statistics and choose the threshold that keeps `target_tpr` of in-distribution videos.

    `train`, `val` and `ood` hold "probabilities" (N,C), "logits" (N,C), "embeddings" (list of (N,E), one per
    member), optionally "features" (list of (N,D) mean backbone features, one per member: the feature score is
    fitted when `train` has them); `train` and `val` also "labels" (N,). `classifiers`: one (weight (C,E),
    bias (C,)) per member, for ViM. `use`: the scores that may be combined. `ood`: generated out-of-distribution
    clips; with them the weights are chosen by `select_weights`, else the usable scores get equal weights.
    `reference`: (N,6) raw scores of in-distribution videos that stand in for the validation videos' own when
    standardising, choosing weights and setting the threshold: out-of-fold scores of many more videos
    (trustfit.out_of_fold_scores), so the threshold is not one of a few validation videos' scores.
    `report`, when given, is filled with how the chosen and the equal weights separate in-distribution videos
    from `ood`. Returns (stats, threshold).
    """
    stats = fit_statistics(train, n_classes, classifiers, knn_k)
    if reference is not None:
        raw = reference.float()
    else:
        raw = raw_scores(val["probabilities"], val["logits"], val["embeddings"], stats, temperature,
                         val.get("features"))
    missing = raw.isnan().any(0)
    stats["score_mean"] = torch.where(missing, 0.0, raw.mean(0))
    stats["score_std"] = torch.where(missing, 1.0, raw.std(0).clamp(min=1e-6))
    fitted = fitted_scores(stats)
    usable = [s in use and s in fitted and not bool(missing[j]) for j, s in enumerate(SCORES)]
    if not any(usable):
        raise ValueError(f"no usable score among {list(use)} (fitted: {fitted})")
    if ood is not None:
        ood_raw = raw_scores(ood["probabilities"], ood["logits"], ood["embeddings"], stats, temperature,
                             ood.get("features"))
        weights, selection = select_weights(standardise(raw, stats), standardise(ood_raw, stats), usable, target_tpr)
        if report is not None:
            report.update(selection)
    else:
        weights = torch.tensor(usable, dtype=torch.float32) / sum(usable)
    stats["score_weights"] = weights
    stats["score_reference"] = raw.sort(dim=0).values
    combined = combine(raw, stats)
    stats["reference"] = combined.sort().values
    stats["temperature"] = torch.tensor(float(temperature))
    stats["target_tpr"] = torch.tensor(float(target_tpr))
    trust = trust_from_combined(combined, stats["reference"])
    threshold = float(torch.quantile(trust, 1.0 - target_tpr))
    return stats, threshold


def describe(stats: dict) -> dict:
    """The fitted scores and their weights, for model.json."""
    names = SCORES[: len(stats["score_weights"])]
    return {"scores": fitted_scores(stats),
            "weights": {n: round(float(w), 4) for n, w in zip(names, stats["score_weights"])},
            "knn_k": int(stats["knn_k"]) if "knn_k" in stats else None,
            "validation_videos": len(stats["reference"])}


def decide(label: str, trust: float, threshold: float) -> str:
    """The reported label: the predicted class, or `unknown` when trust falls below the threshold."""
    return "unknown" if trust < threshold else label
