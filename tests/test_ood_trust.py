"""trust.py's out-of-distribution scores, weight selection and storage, and the OOD metrics of evaluate/ood.py,
on made-up embeddings (no video): fast."""

import numpy as np
import pytest
import torch

from vidtype.evaluate.ood import histogram, load_ood, macro_f1_with_unknown
from vidtype.model import TemporalConfig, TemporalHead
from vidtype.store import Member, Model, load_model, save_model
from vidtype.trust import (SCORES, auroc, describe, fit_trust, fit_vim, fpr_at_tpr, score_batch, select_weights,
                           trust_score)

E = 16
W = torch.zeros(4, E)
W[:, :4] = torch.eye(4) * 1.5
B = torch.zeros(4)


D = 12


def fake_set(n, shift=0.0, seed=0):
    """Embeddings near four class centres (first 4 dims), logits of the linear head W, B, and backbone features
    near four other centres; `shift` moves the embeddings."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 4, (n,), generator=g)
    emb = torch.eye(4, E)[labels] * 6 + torch.randn(n, E, generator=g) + shift
    feats = 3 + torch.eye(4, D)[labels] * 3 + torch.randn(n, D, generator=g) * 0.5
    logits = emb @ W.T + B
    return {"embeddings": [emb], "logits": logits, "probabilities": logits.softmax(1), "labels": labels,
            "features": [feats]}


def off_manifold(n, seed):
    """Far-away inputs whose class logits still look confident: large values in the dimensions the head ignores,
    and backbone features pointing elsewhere."""
    s = fake_set(n, seed=seed)
    g = torch.Generator().manual_seed(seed + 100)
    s["embeddings"][0][:, 4:] += torch.randn(n, E - 4, generator=g) * 5
    s["features"][0][:, 4:] += torch.rand(n, D - 4, generator=g) * 6
    return s


def batch(s, stats, features=True):
    return score_batch(s["probabilities"], s["logits"], s["embeddings"], stats, s["features"] if features else None)


def test_auroc_and_fpr_at_tpr_by_hand():
    a, b = torch.tensor([3.0, 4.0, 5.0, 6.0]), torch.tensor([1.0, 2.0, 3.0])
    assert auroc(a, b) == pytest.approx((4 * 3 - 0.5) / 12)
    assert auroc(b, a) == pytest.approx(0.5 / 12)
    assert fpr_at_tpr(torch.arange(100.0), torch.tensor([-1.0, 4.0, 5.0, 50.0]), 0.95) == 0.5  # threshold 4.95


def test_vim_and_knn_see_what_the_logits_miss():
    stats, _ = fit_trust(fake_set(400), fake_set(200, seed=1), 4, classifiers=[(W, B)])
    i, o = batch(fake_set(300, seed=2), stats), batch(off_manifold(300, seed=3), stats)
    col = {n: k for k, n in enumerate(SCORES)}
    assert auroc(i["raw"][:, col["msp"]], o["raw"][:, col["msp"]]) < 0.7  # confident either way
    for name in ("vim", "knn", "mahalanobis", "feature_knn"):
        assert auroc(i["raw"][:, col[name]], o["raw"][:, col[name]]) > 0.95, name


def test_vim_residual_excludes_directions_the_training_set_does_not_span():
    emb = torch.zeros(10, E)
    emb[:, :3] = torch.randn(10, 3)
    v = fit_vim(emb, W, B)
    # 10 videos: at most 4 principal directions, so the residual keeps at least E - 4 of them
    assert v["vim_residual"].shape == (E, E - 4) and float(v["vim_alpha"]) > 0


def test_select_weights_prefers_the_score_that_separates():
    g = torch.Generator().manual_seed(0)
    z_id = torch.randn(200, 3, generator=g)
    z_ood = torch.randn(100, 3, generator=g)
    z_ood[:, 1] -= 4  # only score 1 tells them apart
    weights, report = select_weights(z_id, z_ood, [True, True, False])
    assert weights[1] == weights.max() and weights[2] == 0 and float(weights.sum()) == pytest.approx(1.0)
    assert report["chosen"]["fpr"] <= report["equal"]["fpr"] and report["chosen"]["auroc"] > 0.97


def test_fit_with_generated_ood_stores_tensors_that_survive_the_model_directory(tmp_path):
    selection = {}
    stats, threshold = fit_trust(fake_set(400), fake_set(200, seed=1), 4, classifiers=[(W, B)],
                                 ood=off_manifold(100, seed=7), report=selection)
    assert all(isinstance(v, torch.Tensor) for v in stats.values())
    assert {"m0.means", "m0.precision", "m0.vim_residual", "m0.knn_bank", "m0.feature_bank", "score_reference",
            "target_tpr"} <= set(stats)
    facts = describe(stats)
    assert facts["scores"] == list(SCORES) and sum(facts["weights"].values()) == pytest.approx(1.0, abs=1e-3)
    assert selection["chosen"]["auroc"] >= selection["equal"]["auroc"] - 1e-9
    cfg = TemporalConfig(feature_dim=8, hidden=8, heads=2)
    path = save_model(Model("t", "0", [Member("x", cfg, TemporalHead(cfg))], threshold=threshold, trust=stats),
                      tmp_path / "m")
    loaded = load_model(path)
    assert loaded.threshold == threshold and set(loaded.trust) == set(stats)
    s = off_manifold(1, seed=9)
    args = (s["probabilities"][0], s["logits"][0], [s["embeddings"][0][0]])
    features = [s["features"][0][0]]
    assert trust_score(*args, loaded.trust, features) == trust_score(*args, stats, features) < threshold


def test_threshold_keeps_the_target_share_and_trust_is_a_cdf():
    stats, threshold = fit_trust(fake_set(400), fake_set(200, seed=1), 4, classifiers=[(W, B)], target_tpr=0.9)
    t = batch(fake_set(1000, seed=4), stats)["trust"]
    assert 0.85 <= float((t >= threshold).float().mean()) <= 0.95
    assert 0.0 <= float(t.min()) and float(t.max()) <= 1.0
    o = batch(off_manifold(200, seed=5), stats)
    assert float((o["trust"] < threshold).float().mean()) > 0.9


def test_a_score_without_its_input_counts_as_the_validation_mean():
    stats, threshold = fit_trust(fake_set(400), fake_set(200, seed=1), 4, classifiers=[(W, B)])
    s = fake_set(300, seed=2)
    with_features, without = batch(s, stats), batch(s, stats, features=False)
    assert without["raw"][:, -1].isnan().all() and not without["trust"].isnan().any()
    assert 0.8 <= float((without["trust"] >= threshold).float().mean()) <= 1.0  # still keeps in-distribution
    assert torch.equal(with_features["raw"][:, :-1], without["raw"][:, :-1])


def test_models_fitted_with_three_scores_still_work():
    stats, threshold = fit_trust(fake_set(400), fake_set(200, seed=1), 4, use=("msp", "energy", "mahalanobis"))
    old = {k: v for k, v in stats.items()
           if k not in ("m0.knn_bank", "m0.feature_bank", "knn_k", "score_reference", "target_tpr")}
    for k in ("score_mean", "score_std", "score_weights"):
        old[k] = stats[k][:3]
    s = fake_set(50, seed=3)
    assert torch.equal(batch(s, old)["trust"], batch(s, stats)["trust"])  # knn had weight 0
    assert trust_score(s["probabilities"][0], s["logits"][0], [s["embeddings"][0][0]], None) >= 0.0


def test_macro_f1_with_unknown_counts_abstentions_as_misses():
    labels = np.array([0, 0, 1, 1])
    predicted = np.array([0, 1, 1, 1])
    everything = macro_f1_with_unknown(labels, predicted, np.ones(4, bool), 4)
    assert everything == pytest.approx((2 / 3 + 0.8) / 2)
    # abstaining on the wrong answer helps class 1's precision, and costs class 0's recall
    kept = np.array([True, False, True, True])
    assert macro_f1_with_unknown(labels, predicted, kept, 4) == pytest.approx((2 / 3 + 1.0) / 2)


def test_histogram_keeps_outliers_in_the_outer_bins():
    h = histogram(np.r_[np.zeros(50), 1e6], np.linspace(-1, 1, 50))
    assert sum(h["id"]) == 51 and sum(h["ood"]) == 50 and h["edges"][-1] < 1e5


def test_load_ood_from_a_folder_and_a_manifest(tmp_path):
    (tmp_path / "thermal").mkdir()
    for name in ("thermal/a.mp4", "b.gif", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [(v.rel, v.kind) for v in load_ood(tmp_path)] == [("b.gif", "ood"), ("thermal/a.mp4", "thermal")]
    (tmp_path / "ood.csv").write_text("path,label,src_group\nthermal/a.mp4,ood,pithermalcam:wave\n")
    (v,) = load_ood(tmp_path / "ood.csv")
    assert v.path == (tmp_path / "thermal/a.mp4").resolve() and v.kind == "pithermalcam"
