import torch

from vidtype.trust import SCORES, decide, fit_trust, msp_trust, raw_scores, trust_score


def fake_set(n, shift=0.0, seed=0):
    """Embeddings around four class centres (or far from them with `shift`) and the logits a linear head gives."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.eye(4, 16) * 6
    labels = torch.randint(0, 4, (n,), generator=g)
    emb = centres[labels] + torch.randn(n, 16, generator=g) + shift
    logits = emb[:, :4] * 1.5
    return {"embeddings": [emb], "logits": logits, "probabilities": logits.softmax(1), "labels": labels}


def test_msp_trust_range():
    assert msp_trust(torch.full((4,), 0.25)) == 0.0
    assert msp_trust(torch.tensor([1.0, 0, 0, 0])) == 1.0


def test_threshold_keeps_target_share_and_rejects_far_inputs():
    stats, threshold = fit_trust(fake_set(400), fake_set(200, seed=1), n_classes=4, target_tpr=0.95)
    test_id, test_ood = fake_set(300, seed=2), fake_set(300, shift=torch.randn(16) * 4, seed=3)

    def trusts(s):
        return torch.tensor([trust_score(p, l, [e], stats) for p, l, e in
                             zip(s["probabilities"], s["logits"], s["embeddings"][0])])

    t_id, t_ood = trusts(test_id), trusts(test_ood)
    kept = (t_id >= threshold).float().mean()
    assert 0.88 <= kept <= 1.0
    assert (t_ood < threshold).float().mean() > 0.9
    assert 0.0 <= t_id.min() and t_id.max() <= 1.0
    assert decide("gaming", float(t_ood.min()), threshold) == "unknown"
    assert decide("gaming", float(t_id.max()), threshold) == "gaming"


def test_trust_is_monotone_in_distance():
    stats, _ = fit_trust(fake_set(400), fake_set(200, seed=1), n_classes=4)
    base = torch.eye(4, 16)[0] * 6
    values = []
    for d in (0.0, 2.0, 4.0, 8.0):
        e = base + d * torch.eye(16)[10]
        logits = e[:4] * 1.5
        values.append(trust_score(logits.softmax(0), logits, [e], stats))
    assert values == sorted(values, reverse=True) and values[0] > values[-1]


def test_a_reference_replaces_the_validation_scores_for_standardising_and_the_threshold():
    train, val = fake_set(400), fake_set(40, seed=1)
    plain, _ = fit_trust(train, val, n_classes=4)
    hard = fake_set(300, shift=0.8, seed=5)  # out-of-fold videos sit a little further from the class centres
    reference = raw_scores(hard["probabilities"], hard["logits"], hard["embeddings"], plain)
    stats, threshold = fit_trust(train, val, n_classes=4, reference=reference)
    assert len(stats["reference"]) == 300 and stats["score_reference"].shape == (300, len(SCORES))
    used = ~reference.isnan().any(0)
    assert torch.allclose(stats["score_mean"][used], reference[:, used].mean(0))
    # the shifted reference lowers the bar: more of the shifted videos keep their label than under plain stats
    def kept(s, t):
        return sum(trust_score(p, l, [e], s) >= t for p, l, e in
                   zip(hard["probabilities"], hard["logits"], hard["embeddings"][0])) / 300
    assert kept(stats, threshold) >= 0.93 > kept(plain, fit_trust(train, val, n_classes=4)[1])
