"""Temperature scaling, fitted the way the pipeline combines an ensemble.

`vidtype.pipeline.Classifier.head` computes, for every member and every view, softmax(logits / T), and
averages those probabilities over views and then over members; one temperature T is shared by all members.
`ensemble_probs` is that same computation on cached logits. `fit_temperature` fits, per member, the T that
minimises the negative log-likelihood of its view-averaged probabilities on the validation split (LBFGS on log T,
so T stays positive) and shares their geometric mean. Fitting one T to the members' average instead was tried and
dropped: on the few videos that also chose the members' best epochs, it rewards sharpening the members into hard
votes (T fell to 0.05 on the default model's split, and test NLL quadrupled). With one member and one view this is
classic temperature scaling.
"""

from __future__ import annotations

import torch


def ensemble_probs(member_logits: torch.Tensor, temperature: float | torch.Tensor = 1.0) -> torch.Tensor:
    """(M, N, V, C) logits of M members for N videos in V views -> (N, C) probabilities, as the pipeline does."""
    return torch.softmax(member_logits.float() / temperature, dim=-1).mean(dim=2).mean(dim=0)


def fit_temperature(member_logits: torch.Tensor, labels: torch.Tensor, max_iter: int = 200) -> float:
    """One temperature for an ensemble: the geometric mean of each member's own fitted temperature."""
    temps = torch.tensor([_fit_one(member_logits[m : m + 1], labels, max_iter) for m in range(len(member_logits))])
    return min(max(float(temps.log().mean().exp()), 0.05), 20.0)


def _fit_one(member_logits: torch.Tensor, labels: torch.Tensor, max_iter: int) -> float:
    """The temperature minimising the NLL of `ensemble_probs(member_logits, T)` for `labels` (N,)."""
    logits = member_logits.detach().float()
    labels = labels.long()
    if logits.shape[1] == 0:
        return 1.0
    log_t = torch.zeros((), requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.5, max_iter=max_iter, line_search_fn="strong_wolfe")

    def nll() -> torch.Tensor:
        opt.zero_grad()
        probs = ensemble_probs(logits, log_t.exp())
        loss = -torch.log(probs[torch.arange(len(labels)), labels].clamp_min(1e-12)).mean()
        loss.backward()
        return loss

    opt.step(nll)
    t = float(log_t.detach().exp())
    return min(max(t, 0.05), 20.0) if t == t else 1.0  # NaN guard; keep within a sane range


def pipeline_outputs(outputs: list[tuple[torch.Tensor, torch.Tensor]], temperature: float) -> dict:
    """Per-member (logits (N,V,C), embeddings (N,V,E)) -> what `Classifier.head` gives for each video.

    "probabilities" (N,C): mean over members of the mean over views of softmax(logits / T); "logits" (N,C): mean
    over members and views; "embeddings": one (N,E) view-averaged tensor per member.
    """
    logits = torch.stack([lg for lg, _ in outputs])
    return {"probabilities": ensemble_probs(logits, temperature), "logits": logits.mean(dim=2).mean(dim=0),
            "embeddings": [emb.mean(dim=1) for _, emb in outputs]}
