import pytest
import torch

from vidtype.model import TemporalConfig, TemporalHead
from vidtype.train.calibrate import ensemble_probs, fit_temperature
from vidtype.train.config import OptimConfig
from vidtype.train.loop import CheckpointError, FeatureSet, class_weights, fit, predict_logits

D, T, V = 12, 6, 3


def synthetic(n_per_class: int, seed: int, noise: float = 1.0) -> FeatureSet:
    """Features whose class shows as a weak direction in a few frames, among noise; V views per video."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(4).repeat_interleave(n_per_class)
    x = torch.randn(len(labels), V, T, D, generator=g) * noise
    x[torch.arange(len(labels)), :, :3, labels] += 2.5
    mask = torch.ones(len(labels), V, T, dtype=torch.bool)
    mask[::5, :, -2:] = False  # some shorter videos
    return FeatureSet(x.half(), mask, labels)


def optim(**kw):
    base = dict(epochs=6, batch_size=16, lr=1e-2, warmup_epochs=1, patience=10)
    return OptimConfig(**(base | kw))


def config():
    return TemporalConfig(feature_dim=D, hidden=8, heads=2, dropout=0.1)


def test_learns_and_reports_history():
    result = fit(synthetic(20, 0), synthetic(10, 1), config(), optim(epochs=10), seed=0, progress=False)
    assert [r["epoch"] for r in result.history] == list(range(1, 11))
    assert set(result.history[0]) >= {"train_loss", "val_loss", "val_acc", "val_macro_f1", "lr", "seconds"}
    assert result.best_f1 > 0.8
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert not result.head.training


def test_early_stopping_keeps_the_best_epoch():
    result = fit(synthetic(10, 0), synthetic(5, 1), config(), optim(epochs=30, patience=2, lr=0.05), seed=0,
                 progress=False)
    f1 = [r["val_macro_f1"] for r in result.history]
    assert len(result.history) < 30 and result.best_f1 == max(f1)
    assert result.best_epoch == 1 + f1.index(max(f1))


class Interrupt(Exception):
    pass


def test_resume_after_interruption_is_identical(tmp_path):
    train, val = synthetic(8, 0), synthetic(4, 1)
    full = fit(train, val, config(), optim(), seed=3, checkpoint=tmp_path / "a.safetensors", progress=False)

    def stop_after_3(epoch, row):
        if epoch == 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        fit(train, val, config(), optim(), seed=3, checkpoint=tmp_path / "b.safetensors", on_epoch_end=stop_after_3,
            progress=False)
    seen = []
    resumed = fit(train, val, config(), optim(), seed=3, checkpoint=tmp_path / "b.safetensors",
                  on_epoch_end=lambda e, r: seen.append(e), progress=False)
    assert seen == [4, 5, 6]  # continued where it stopped
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(resumed.history) == strip(full.history)
    for k, v in full.head.state_dict().items():
        assert torch.equal(v, resumed.head.state_dict()[k]), k
    # a finished run returns at once, with the same weights
    again = fit(train, val, config(), optim(), seed=3, checkpoint=tmp_path / "b.safetensors",
                on_epoch_end=lambda e, r: pytest.fail("retrained"), progress=False)
    assert all(torch.equal(v, again.head.state_dict()[k]) for k, v in full.head.state_dict().items())
    with pytest.raises(CheckpointError):
        fit(train, val, config(), optim(), seed=3, checkpoint=tmp_path / "b.safetensors", run_id="other",
            progress=False)


def test_class_weights_balance_counts():
    w = class_weights(torch.tensor([0, 0, 0, 1, 2, 2]), 4)
    assert w[3] == 0 and torch.allclose(w[:3] * torch.tensor([3.0, 1.0, 2.0]), torch.full((3,), 2.0))


def test_temperature_recovers_a_known_scale():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4000, 4, generator=g) * 3
    labels = torch.multinomial(torch.softmax(logits / 2.0, -1), 1, generator=g)[:, 0]
    t = fit_temperature(logits[None, :, None], labels)
    assert abs(t - 2.0) < 0.15


def test_ensemble_probs_match_the_pipeline():
    """ensemble_probs on predict_logits equals Classifier.head on the same features (members and views)."""
    from vidtype.pipeline import Classifier
    from vidtype.store import Member, Model

    torch.manual_seed(0)
    members = [Member("b", config(), TemporalHead(config()).eval()) for _ in range(2)]
    model = Model("t", "1", members, temperature=1.7)
    clf = object.__new__(Classifier)  # no encoders needed for the head stage
    clf.model, clf.device = model, torch.device("cpu")
    views = torch.randn(3, T, D)  # one video, 3 views
    probs = clf.head({"b": list(views)})["probabilities"]
    logits = torch.stack([predict_logits(m.head, views[None], torch.ones(1, 3, T, dtype=torch.bool))
                          for m in members])
    torch.testing.assert_close(ensemble_probs(logits, 1.7)[0], probs)
