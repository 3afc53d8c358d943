"""The pipeline end to end on generated videos: fields, evidence, TTA, ensembles, devices, the shipped model."""

from pathlib import Path

import pytest
import torch

import vidtype
from vidtype.errors import VidtypeError
from vidtype.model import TemporalConfig, TemporalHead
from vidtype.pipeline import Classifier
from vidtype.store import Member, Model, load_model

EXAMPLE = Path(__file__).parent.parent / "examples" / "sample.mp4"


def random_model(*backbones: str) -> Model:
    torch.manual_seed(0)
    members = []
    for name in backbones or ("efficientnet_lite0",):
        cfg = TemporalConfig(feature_dim=1280, hidden=16, heads=2)
        members.append(Member(name, cfg, TemporalHead(cfg).eval()))
    return Model("random", "0", members)


@pytest.fixture(scope="module")
def clf():
    return Classifier(random_model(), device="cpu")


def test_prediction_fields(clf, video_factory):
    pred = clf.classify(video_factory(".mp4", seconds=3))
    d = pred.to_dict()
    assert set(d) >= {"path", "label", "confidence", "probabilities", "trust", "frames", "timings_ms", "model"}
    assert list(d["probabilities"]) == ["animation", "gaming", "natural", "flat"]
    assert abs(sum(d["probabilities"].values()) - 1) < 1e-3
    assert d["label"] in (*vidtype.CLASSES, "unknown")
    assert d["confidence"] == max(d["probabilities"].values())
    assert 0 <= d["trust"] <= 1
    used = [f for f in d["frames"] if f["rejected"] is None]
    assert len(used) == 16
    assert abs(sum(f["attention"] for f in used) - 1) < 1e-2
    assert [f["time_s"] for f in d["frames"]] == sorted(f["time_s"] for f in d["frames"])
    assert set(d["timings_ms"]) == {"decode", "features", "head", "total"}
    assert d["video"]["width"] == 320 and d["video"]["height"] == 240


def test_rejected_frames_are_reported_with_reason(clf, video_factory):
    path = video_factory(".mp4", seconds=4, black_spans=[(1.0, 2.5)])
    frames = clf.classify(path).frames
    black = [f for f in frames if f.rejected == "black"]
    assert black and all(1.0 <= f.time_s <= 2.6 for f in black)
    assert sum(f.rejected is None for f in frames) == 16


def test_frames_option_and_tta(clf, video_factory):
    path = video_factory(".mp4", seconds=3)
    plain = clf.classify(path, frames=8)
    tta = clf.classify(path, frames=8, tta=True)
    assert sum(f.rejected is None for f in plain.frames) == 8
    assert plain.probabilities != tta.probabilities  # more views moved the average
    assert abs(sum(tta.probabilities.values()) - 1) < 1e-3


def test_ensemble_of_two_backbones_averages_members(video_factory):
    path = video_factory(".mp4", seconds=2)
    both = Classifier(random_model("efficientnet_lite0", "mobilenetv2"), device="cpu")
    assert set(both.encoders) == {"efficientnet_lite0", "mobilenetv2"}
    sample = both.sample(path)
    feats = both.features([sample])
    out = both.head(feats)
    singles = []
    for m in both.model.members:
        logits = m.head(torch.stack(feats[m.backbone]))["logits"]
        singles.append(torch.softmax(logits, -1).mean(0))
    torch.testing.assert_close(out["probabilities"], torch.stack(singles).mean(0))


def test_unknown_backbone_is_a_clear_error():
    cfg = TemporalConfig(feature_dim=1152, hidden=8, heads=2)
    with pytest.raises(VidtypeError, match="yt8m"):
        Classifier(Model("f", "0", [Member("yt8m", cfg, TemporalHead(cfg))]), device="cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")
def test_cuda_matches_cpu(video_factory):
    path = video_factory(".mp4", seconds=2)
    cpu = Classifier(random_model(), device="cpu", runtime="torch").classify(path)
    gpu = Classifier(random_model(), device="cuda").classify(path)
    for c in vidtype.CLASSES:
        assert abs(cpu.probabilities[c] - gpu.probabilities[c]) < 2e-2


def test_shipped_default_model_reads_the_sample_clip():
    """The shipped model loads through the public API and calls the generated terminal recording screen content."""
    model = load_model()
    assert model.members and model.threshold >= 0 and model.trust
    pred = vidtype.classify(EXAMPLE)
    assert pred.label == "flat", pred.probabilities
    assert pred.model["name"] == model.name
