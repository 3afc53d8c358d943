"""Train a small model on generated clips, resume an interrupted run, evaluate it: the whole path, in seconds."""

import csv
import json

import pytest
import torch

from vidtype.evaluate import evaluate
from vidtype.store import load_model
from vidtype.train import train
from vidtype.train.synthetic import make_dataset, register_tiny_backbone

TINY = register_tiny_backbone()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """48 clips (12 per class, a quarter of them GIFs) and a feature cache shared by the tests below."""
    root = tmp_path_factory.mktemp("e2e")
    return make_dataset(root / "data", per_class=12, manifest=True, gif_share=0.25), root / "cache"


def overrides(cache, **extra):
    base = {"backbones": f"[{TINY}]", "members": 2, "device": "cpu", "features.cache_dir": str(cache),
            "features.frames": 8, "features.views": 2, "features.runtime": "torch", "features.dtype": "float32",
            "features.workers": 0, "data.val_fraction": 0.25, "data.test_fraction": 0.25,
            "optim.lr": 0.005, "optim.epochs": 20, "optim.patience": 8}
    return [f"{k}={v}" for k, v in (base | extra).items()]


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    manifest, cache = data
    out = tmp_path_factory.mktemp("model")
    train(manifest, out, overrides=overrides(cache), progress=False)
    return out


def test_training_writes_a_complete_model_directory(trained):
    names = {p.name for p in trained.iterdir()}
    assert names >= {"model.json", "m0", "m1", "split.csv", "train_config.yaml", "history.csv", "version.json",
                     "checkpoints"}
    model = load_model(trained)
    assert [m.backbone for m in model.members] == [TINY, TINY] and model.frames == 8
    assert 0.05 <= model.temperature <= 20 and model.temperature != 1.0
    facts = model.extra["training"]
    assert facts["calibration"]["val_nll_after"] <= facts["calibration"]["val_nll_before"] + 1e-6
    assert json.loads((trained / "version.json").read_text())["vidtype"]
    with open(trained / "split.csv") as f:
        splits = [r["split"] for r in csv.DictReader(f)]
    assert splits.count("test") == 12 and splits.count("val") == 12 and splits.count("train") == 24
    with open(trained / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["member"] for r in rows} == {"0", "1"} and float(rows[0]["val_macro_f1"]) >= 0


def test_it_learns_and_evaluation_reports_it(data, trained, tmp_path):
    manifest, cache = data
    report = tmp_path / "report"
    m = evaluate(manifest, trained, split="test", group_by=["source_format"], out=report, cache_dir=cache,
                 device="cpu", runtime="torch", throughput_videos=2, progress=False)
    ens = m["results"]["ensemble"]
    assert ens["no_tta"]["n"] == 12 and m["data"]["failed"] == []
    assert ens["no_tta"]["accuracy"] >= 0.75 and ens["tta"]["accuracy"] >= 0.75  # chance: 0.25
    assert len(m["results"]["members"]) == 2 and set(m["groups"]["source_format"]) == {"gif", "video"}
    assert sum(g["n"] for g in m["groups"]["source_format"].values()) == 12
    runs = m["throughput"]["runs"]
    assert runs["no_tta"]["videos"] == 2 and runs["tta"]["videos_per_s"] > 0
    for name in ("metrics.json", "report.md", "predictions.csv", "misclassified.csv"):
        assert (report / name).is_file()
    for name in ("confusion_matrix.png", "reliability.png", "per_class_f1.png"):
        assert (report / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((report / "metrics.json").read_text())["headline"] == "ensemble/tta"


def test_cached_evaluation_equals_classify(data, trained, tmp_path):
    """Predictions from the feature cache are those of vidtype.classify (the pipeline), TTA included."""
    import vidtype

    manifest, cache = data
    evaluate(manifest, trained, split="test", out=tmp_path, cache_dir=cache, device="cpu", runtime="torch",
             throughput_videos=0, progress=False)
    with open(tmp_path / "predictions.csv") as f:
        row = next(csv.DictReader(f))
    clf = vidtype.classifier(load_model(trained), device="cpu", runtime="torch")
    pred = clf.classify(manifest.parent / row["path"], tta=True)
    for c, p in pred.probabilities.items():
        assert abs(p - float(row[f"p_{c}"])) < 2e-4, c
    assert abs(pred.trust - float(row["trust"])) < 1e-3


class Interrupted(Exception):
    pass


def test_interrupted_training_resumes_to_the_same_model(data, trained, tmp_path):
    manifest, cache = data
    epochs = []

    def kill_in_second_member(epoch, row):
        epochs.append(epoch)
        if epochs.count(1) == 2 and epoch == 3:  # the second member's third epoch
            raise Interrupted

    with pytest.raises(Interrupted):
        train(manifest, tmp_path, overrides=overrides(cache), on_epoch_end=kill_in_second_member, progress=False)
    assert not (tmp_path / "model.json").exists()
    resumed_epochs = []
    train(manifest, tmp_path, overrides=overrides(cache), on_epoch_end=lambda e, r: resumed_epochs.append(e),
          progress=False)
    assert resumed_epochs and resumed_epochs[0] == 4  # member 0 was done; member 1 continued after epoch 3
    a, b = load_model(trained), load_model(tmp_path)
    assert a.temperature == b.temperature
    for ma, mb in zip(a.members, b.members):
        for k, v in ma.head.state_dict().items():
            assert torch.equal(v, mb.head.state_dict()[k]), k
    strip = lambda p: [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(open(p))]  # noqa: E731
    assert strip(trained / "history.csv") == strip(tmp_path / "history.csv")


def test_a_changed_config_does_not_resume_silently(data, trained):
    from vidtype.train.loop import CheckpointError

    manifest, cache = data
    with pytest.raises(CheckpointError):
        train(manifest, trained, overrides=overrides(cache, **{"optim.lr": 0.02}), progress=False)


def test_command_line(data, tmp_path, capsys):
    from vidtype.cli import main

    manifest, cache = data
    cfg = tmp_path / "run.toml"
    cfg.write_text('[features]\nframes = 8\nviews = 2\nruntime = "torch"\ndtype = "float32"\n'
                   '[data]\nval_fraction = 0.25\ntest_fraction = 0.25\n[optim]\nlr = 0.005\npatience = 6\n')
    out = tmp_path / "model"
    assert main(["train", str(manifest), "--out", str(out), "--config", str(cfg), "--backbone", TINY,
                 "--members", "1", "--epochs", "3", "--device", "cpu", "--cache", str(cache), "--quiet"]) == 0
    assert "1 member(s)" in capsys.readouterr().out
    assert len(load_model(out).members) == 1
    assert main(["evaluate", str(manifest), "--model", str(out), "--split", "val", "--json", "--no-tta",
                 "--throughput", "0", "--device", "cpu", "--cache", str(cache), "--group-by", "ext", "--quiet"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["data"]["split"] == "val" and metrics["headline"] == "ensemble/no_tta"
    assert set(metrics["groups"]["ext"]) == {"gif", "mp4"}
    assert main(["train", str(manifest), "--out", str(tmp_path / "x"), "--set", "optim.lr=fast", "--quiet"]) == 2
    assert "optim.lr" in capsys.readouterr().err
