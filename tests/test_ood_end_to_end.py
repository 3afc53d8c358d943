"""Trust on generated data, end to end: train with generated OOD clips choosing the score weights, `unknown` in
`vidtype predict --json`, `vidtype evaluate --ood`, and `vidtype trust-fit` on an existing model directory.

In-distribution: the synthetic four-kind clips of vidtype.train.synthetic; out-of-distribution: the recipe of
vidtype.corpus.ood; backbone: the tiny random test CNN. Seconds, on the CPU.
"""

import csv
import json
import shutil

import pytest

from vidtype.cli import main
from vidtype.corpus.ood import KINDS, make_ood_set
from vidtype.store import CLASSES, load_model
from vidtype.train import train
from vidtype.train.synthetic import make_dataset, register_tiny_backbone
from vidtype.trust import trust_from_combined

TINY = register_tiny_backbone()
N_OOD = 2 * len(KINDS)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """48 synthetic clips (12 per class), 18 generated OOD clips for measuring (seed 1), and a feature cache."""
    root = tmp_path_factory.mktemp("ood-e2e")
    manifest = make_dataset(root / "data", per_class=12, manifest=True)
    ood = make_ood_set(root / "ood", n=N_OOD, seed=1, size=(96, 64), seconds=1.5)
    return manifest, ood, root / "cache"


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    manifest, _, cache = data
    out = tmp_path_factory.mktemp("model")
    settings = {"backbones": f"[{TINY}]", "device": "cpu", "features.cache_dir": str(cache), "features.frames": 8,
                "features.views": 2, "features.runtime": "torch", "features.dtype": "float32", "features.workers": 0,
                "data.val_fraction": 0.25, "data.test_fraction": 0.25, "optim.lr": 0.005, "optim.epochs": 15,
                "head.hidden": 32, "head.heads": 2, "trust_ood": N_OOD}  # weights chosen on generated clips, seed 0
    train(manifest, out, overrides=[f"{k}={v}" for k, v in settings.items()], progress=False)
    return out


@pytest.fixture(autouse=True)
def private_onnx_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDTYPE_CACHE", str(tmp_path / "vidtype-cache"))  # the CLI's backbone exports go here


def ood_paths(ood_manifest):
    with open(ood_manifest, newline="") as f:
        return [ood_manifest.parent / r["path"] for r in csv.DictReader(f)]


def test_trained_model_carries_fitted_ood_statistics_and_threshold(trained):
    model = load_model(trained)
    assert {"m0.means", "m0.precision", "m0.vim_residual", "m0.knn_bank", "m0.feature_bank", "score_reference",
            "reference", "score_weights", "target_tpr"} <= set(model.trust)
    assert 0 < model.threshold < 0.5
    facts = model.extra["training"]["trust"]
    assert facts["fitted"] and facts["scores"] == ["msp", "energy", "mahalanobis", "vim", "knn", "feature_knn"]
    assert sum(facts["weights"].values()) == pytest.approx(1.0, abs=1e-3)
    assert facts["generated_ood"]["chosen"]["auroc"] >= facts["generated_ood"]["equal"]["auroc"] - 1e-9
    assert "generated out-of-distribution" in facts["weights_chosen_on"]


def test_predict_json_says_unknown_below_the_threshold(data, trained, tmp_path, capsys):
    manifest, ood, _ = data
    files = [str(p) for p in ood_paths(ood)[:len(KINDS)]] + [str(manifest.parent / "animation/a000.mp4")]
    assert main(["predict", "--json", "--device", "cpu", "--model", str(trained), *files]) == 0
    threshold = load_model(trained).threshold
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(out) == len(files)
    for row in out:
        assert list(row["probabilities"]) == list(CLASSES)  # the four classes, whatever the label
        assert (row["label"] == "unknown") == (row["trust"] < threshold)
    assert any(row["label"] == "unknown" for row in out[:-1])  # test cards, colour bars, thermal: far out

    strict = shutil.copytree(trained, tmp_path / "strict")  # a threshold no video reaches
    meta = json.loads((strict / "model.json").read_text())
    (strict / "model.json").write_text(json.dumps(meta | {"threshold": 1.01}))
    assert main(["predict", "--json", "--device", "cpu", "--model", str(strict), files[-1]]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["label"] == "unknown" and max(row["probabilities"].values()) == row["confidence"]


def test_evaluate_with_ood_writes_metrics_report_and_plot(data, trained, tmp_path, capsys):
    manifest, ood, cache = data
    report = tmp_path / "report"
    assert main(["evaluate", str(manifest), "--model", str(trained), "--split", "test", "--ood", str(ood),
                 "--out", str(report), "--cache", str(cache), "--device", "cpu", "--throughput", "0",
                 "--quiet"]) == 0
    assert "ood (no_tta):" in capsys.readouterr().out
    m = json.loads((report / "metrics.json").read_text())["ood"]
    assert m["n_evaluated"] == N_OOD and m["failed"] == [] and set(m["views"]) == {"no_tta", "tta"}
    block = m["views"]["no_tta"]
    assert set(block["scores"]) == {"msp", "energy", "mahalanobis", "vim", "knn", "feature_knn", "trust"}
    for name, s in block["scores"].items():
        assert 0 <= s["auroc"] <= 1 and 0 <= s["fpr95"] <= 1 and 0 <= s["id_abstained"] <= 1, name
    # the tiny random backbone sees 32x32 thumbnails: it separates some kinds only (seed-1 clips, weights chosen
    # on seed-0 clips); the real backbone is measured on real footage by the lead
    assert block["scores"]["trust"]["auroc"] >= 0.6
    assert set(block["by_kind"]) == set(KINDS) and block["id_n"] == 12
    assert 0 <= block["id_macro_f1_with_unknown"] <= 1
    assert (report / "ood_scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (report / "report.md").read_text()
    assert "## Out-of-distribution" in text and "ood_scores.png" in text and "trust (combined)" in text
    with open(report / "ood_predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == N_OOD and {"trust", "kind", "label", "combined", "vim", "feature_knn"} <= set(rows[0])


def refit(manifest, trained, folder, *options):
    """`vidtype trust-fit` on a copy of the trained model: (model before, model after, its output)."""
    model_dir = shutil.copytree(trained, folder)
    before = load_model(model_dir)
    assert main(["trust-fit", str(manifest), "--model", str(model_dir), *options, "--device", "cpu", "--quiet"]) == 0
    return before, load_model(model_dir)


def test_trust_fit_refits_an_existing_model_without_retraining(data, trained, tmp_path, capsys):
    before, after = refit(data[0], trained, tmp_path / "m", "--keep", "0.75")
    assert "trust refitted" in capsys.readouterr().out
    facts = after.extra["training"]["trust"]
    assert facts["keep"] == 0.75 and facts["refitted_with"] == "vidtype trust-fit"
    assert set(facts["weights"].values()) == {round(1 / 6, 4)}  # no generated clips: equal weights
    assert after.threshold > before.threshold
    for a, b in zip(before.members, after.members):  # the heads are untouched
        assert all((a.head.state_dict()[k] == v).all() for k, v in b.head.state_dict().items())


def test_trust_fit_with_folds_sets_the_threshold_on_out_of_fold_scores(data, trained, tmp_path, capsys):
    before, after = refit(data[0], trained, tmp_path / "oof", "--folds", "3")
    assert "of out-of-fold videos" in capsys.readouterr().out
    facts = after.extra["training"]["trust"]
    n_train_val = sum(sum(after.extra["training"]["counts"][s].values()) for s in ("train", "val"))
    # the reference holds every training and validation video, not only the validation ones
    assert facts["validation_videos"] == n_train_val == len(after.trust["reference"]) > len(before.trust["reference"])
    assert "out-of-fold" in facts["fitted_on"]
    # the threshold keeps the target share (0.95) of the reference it was set on
    trust = trust_from_combined(after.trust["reference"], after.trust["reference"])
    assert 0.93 <= float((trust >= after.threshold).float().mean()) < 1.0
    for a, b in zip(before.members, after.members):  # the shipped heads are untouched; folds train their own
        assert all((a.head.state_dict()[k] == v).all() for k, v in b.head.state_dict().items())


def test_trust_reference_keeps_only_the_chosen_videos_in_the_reference(data, trained, tmp_path):
    folder = shutil.copytree(trained, tmp_path / "copy")
    with open(folder / "train_config.yaml", "a") as f:  # e.g. "corpus=footage" when a recorded corpus helps
        f.write("trust_reference: label=flat\n")
    _, after = refit(data[0], folder, tmp_path / "flat", "--folds", "3")
    counts = after.extra["training"]["counts"]
    assert len(after.trust["reference"]) == counts["train"]["flat"] + counts["val"]["flat"]
