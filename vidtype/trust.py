"""How much to trust a prediction: an out-of-distribution score in 0..1, and `unknown` below a threshold.

Three post-hoc scores, all from what the model already computes (higher = more in-distribution):
  msp          maximum softmax probability of the calibrated, ensemble-averaged prediction
  energy       T * logsumexp(logits / T)
  mahalanobis  minus the smallest Mahalanobis distance of the attention-pooled embedding to a class mean
               (class means and a shared covariance fitted on training embeddings, per ensemble member)
Each score is standardised by its mean and spread on in-distribution validation videos and the chosen ones are
summed. `trust` is the share of in-distribution validation videos whose combined score is lower: monotone in the
combined score, 0..1, and calibrated in the sense that a threshold of 0.05 keeps about 95 % of in-distribution
videos. Without fitted statistics, trust falls back to the rescaled maximum softmax probability.
"""

from __future__ import annotations

import torch

SCORES = ("msp", "energy", "mahalanobis")


def msp_trust(probabilities: torch.Tensor) -> float:
    """Rescaled maximum softmax probability of a (C,) probability vector: 0 (uniform) .. 1 (certain)."""
    c = probabilities.numel()
    return float(((probabilities.max() - 1.0 / c) / (1.0 - 1.0 / c)).clamp(0.0, 1.0))


def fit_gaussian(embeddings: torch.Tensor, labels: torch.Tensor, n_classes: int, shrinkage: float = 0.1):
    """Class means (C,E) and the precision matrix (E,E) of the shared, shrunk within-class covariance."""
    embeddings = embeddings.double()
    means = torch.stack([embeddings[labels == c].mean(0) for c in range(n_classes)])
    centred = embeddings - means[labels]
    cov = centred.T @ centred / max(len(embeddings) - 1, 1)
    # Shrink towards a scaled identity: a few hundred videos cannot pin down a full covariance.
    cov = (1 - shrinkage) * cov + shrinkage * cov.trace() / cov.shape[0] * torch.eye(cov.shape[0], dtype=cov.dtype)
    return means.float(), torch.linalg.inv(cov).float()


def raw_scores(probabilities, logits, embeddings, stats, temperature: float = 1.0) -> torch.Tensor:
    """The (N, 3) raw scores (msp, energy, mahalanobis) of N videos; higher = more in-distribution.

    `probabilities` (N,C) and `logits` (N,C) are ensemble averages; `embeddings` is one (N,E) tensor per member.
    """
    msp = probabilities.max(dim=1).values
    energy = temperature * torch.logsumexp(logits / temperature, dim=1)
    distances = []
    for i, e in enumerate(embeddings):
        means, precision = stats[f"m{i}.means"], stats[f"m{i}.precision"]
        diff = e[:, None, :] - means[None]  # (N, C, E)
        d = torch.einsum("nce,ef,ncf->nc", diff, precision, diff)
        distances.append(d.min(dim=1).values)
    maha = -torch.stack(distances).mean(0)
    return torch.stack([msp, energy, maha], dim=1)


def combine(raw: torch.Tensor, stats: dict) -> torch.Tensor:
    """Weighted sum of standardised scores, (N,3) -> (N,)."""
    z = (raw - stats["score_mean"]) / stats["score_std"]
    return z @ stats["score_weights"]


def trust_from_combined(combined: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Empirical CDF of the validation reference scores at `combined`: the trust in 0..1."""
    return torch.searchsorted(reference.contiguous(), combined.contiguous(), right=True).float() / len(reference)


def fit_trust(train: dict, val: dict, n_classes: int, temperature: float = 1.0, use=SCORES,
              target_tpr: float = 0.95) -> tuple[dict, float]:
    """Fit the trust statistics and choose the threshold that keeps `target_tpr` of validation videos.

    `train` and `val` hold "probabilities" (N,C), "logits" (N,C), "embeddings" (list of (N,E)), "labels" (N,).
    Returns (stats, threshold).
    """
    stats = {}
    for i, e in enumerate(train["embeddings"]):
        stats[f"m{i}.means"], stats[f"m{i}.precision"] = fit_gaussian(e, train["labels"], n_classes)
    raw = raw_scores(val["probabilities"], val["logits"], val["embeddings"], stats, temperature)
    stats["score_mean"] = raw.mean(0)
    stats["score_std"] = raw.std(0).clamp(min=1e-6)
    stats["score_weights"] = torch.tensor([1.0 if s in use else 0.0 for s in SCORES])
    combined = combine(raw, stats)
    stats["reference"] = combined.sort().values
    stats["temperature"] = torch.tensor(temperature)
    trust = trust_from_combined(combined, stats["reference"])
    threshold = float(torch.quantile(trust, 1.0 - target_tpr))
    return stats, threshold


def trust_score(probabilities: torch.Tensor, logits: torch.Tensor, embeddings: list[torch.Tensor],
                stats: dict | None) -> float:
    """The trust of one prediction: (C,) probabilities and logits, one (E,) embedding per member."""
    if not stats:
        return msp_trust(probabilities)
    raw = raw_scores(probabilities[None], logits[None], [e[None] for e in embeddings], stats,
                     float(stats["temperature"]))
    return float(trust_from_combined(combine(raw, stats), stats["reference"])[0])


def decide(label: str, trust: float, threshold: float) -> str:
    """The reported label: the predicted class, or `unknown` when trust falls below the threshold."""
    return "unknown" if trust < threshold else label
