"""Grouped K-fold cross-validation (train/crossval.py) on generated clips with the tiny backbone: seconds."""

import json
from collections import defaultdict

import pytest

from vidtype.cli import main
from vidtype.train.crossval import assign_folds, crossval
from vidtype.train.datasets import Item, load_dataset
from vidtype.train.synthetic import make_dataset, register_tiny_backbone

TINY = register_tiny_backbone()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """40 clips (10 per class, a fifth of them GIFs) and a feature cache shared by the tests below."""
    root = tmp_path_factory.mktemp("cv")
    return make_dataset(root / "data", per_class=10, manifest=True, gif_share=0.2), root / "cache"


def overrides(cache, **extra):
    base = {"backbones": f"[{TINY}]", "members": 1, "device": "cpu", "features.cache_dir": str(cache),
            "features.frames": 6, "features.views": 2, "features.runtime": "torch", "features.dtype": "float32",
            "features.workers": 0, "data.val_fraction": 0.2, "data.test_fraction": 0.2, "optim.lr": 0.005,
            "optim.epochs": 12, "optim.patience": 6, "head.hidden": 16, "head.heads": 2}
    return [f"{k}={v}" for k, v in (base | extra).items()]


def test_folds_keep_groups_whole_and_classes_balanced():
    items = [Item(None, f"{c}/{g}/{i}", c, f"{c}-{g}") for c in ("animation", "flat") for g in range(6)
             for i in range(1 + g % 3)]
    folds = assign_folds(items, 3, seed=0)
    by_group = defaultdict(set)
    for it, f in zip(items, folds):
        by_group[it.group].add(f)
    assert all(len(v) == 1 for v in by_group.values())
    for c in ("animation", "flat"):
        counts = [sum(1 for it, f in zip(items, folds) if it.label == c and f == k) for k in range(3)]
        assert max(counts) - min(counts) <= 2 and sum(counts) == 12
    assert folds == assign_folds(items, 3, seed=0)


def test_crossval_heads_and_probe_on_the_same_folds(data, tmp_path):
    manifest, cache = data
    out = tmp_path / "cv"
    result = crossval(manifest, overrides=overrides(cache), folds=3, probe=True, out=out,
                      group_by=["source_format"], progress=False)
    assert result["n_test_held_out"] == 8 and result["n_videos"] == 32 and sum(result["fold_sizes"]) == 32
    test_split = {it.rel for it in load_dataset(manifest)} - {p["path"] for p in result["predictions"]}
    assert len(test_split) == 8  # the run's test split never enters a fold
    for name in ("head", "probe"):
        block = result["models"][name]
        assert len(block["folds"]) == 3
        s = block["summary"]
        assert 0 <= s["macro_f1"]["mean"] <= 1 and s["macro_f1"]["std"] >= 0
        assert set(s["f1"]) == {"animation", "gaming", "natural", "flat"}
        assert set(block["groups"]["source_format"]) == {"gif", "video"}
    assert result["models"]["probe"]["summary"]["macro_f1"]["mean"] >= 0.6  # the synthetic kinds are easy
    assert result["models"]["head"]["folds"][0]["n_train"] > 0 and result["models"]["head"]["folds"][0]["n_val"] > 0
    saved = json.loads((out / "crossval.json").read_text())
    assert saved["models"]["head"]["summary"] == result["models"]["head"]["summary"]
    md = (out / "crossval.md").read_text()
    assert "| head |" in md and "| probe |" in md and "by source_format" in md


def test_cli_probe_only_with_the_test_split_included(data, tmp_path, capsys):
    manifest, cache = data
    args = ["crossval", str(manifest), "--folds", "4", "--probe-only", "--include-test", "--out", str(tmp_path),
            "--quiet"] + [a for o in overrides(cache) for a in ("--set", o)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "probe: macro-F1" in printed and "head:" not in printed
    saved = json.loads((tmp_path / "crossval.json").read_text())
    assert saved["n_videos"] == 40 and saved["n_test_held_out"] == 0 and list(saved["models"]) == ["probe"]
