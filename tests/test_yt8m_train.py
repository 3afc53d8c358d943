"""Training the temporal head on YouTube-8M frame-level features, and classifying records with the result."""

import csv
import json

import numpy as np
import pytest

from vidtype.cli import main
from vidtype.store import CLASSES, load_model
from vidtype.train import CLEAN, load_config, training_views
from vidtype.yt8m.mapping import LabelMap
from vidtype.yt8m.predict import predict_records
from vidtype.yt8m.training import Yt8mFeatures
from yt8m_data import frame_record, synthetic_videos, write_tfrecord, write_vocabulary

SETTINGS = {"members": 1, "device": "cpu", "features.frames": 8, "features.views": 2, "features.workers": 0,
            "features.dtype": "float32", "data.val_fraction": 0.25, "data.test_fraction": 0.25,
            "optim.lr": 0.005, "optim.epochs": 8, "optim.patience": 8, "head": {"hidden": 32, "heads": 2}}


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """48 videos (12 per class) in two frame-level TFRecord files, plus two that curation leaves out."""
    root = tmp_path_factory.mktemp("yt8m")
    videos = synthetic_videos(12)
    recs = [frame_record(vid, labels, rgb, audio) for vid, _, labels, rgb, audio in videos]
    recs += [frame_record("amb1", [1, 7], *videos[0][3:]), frame_record("unm1", [12], *videos[1][3:])]
    write_tfrecord(root / "train0000.tfrecord", recs[0::2])
    write_tfrecord(root / "train0001.tfrecord", recs[1::2])
    return root, write_vocabulary(root / "vocabulary.csv"), {vid: cls for vid, cls, *_ in videos}


@pytest.fixture(scope="module")
def trained(records, tmp_path_factory):
    root, vocab, _ = records
    out = tmp_path_factory.mktemp("model")
    sets = [f"--set={k}={json.dumps(v)}" for k, v in SETTINGS.items()]
    assert main(["train", "--features", f"yt8m:{root}/train*.tfrecord", "--vocabulary", str(vocab), "--out", str(out),
                 "--quiet", *sets]) == 0
    return out


def test_source_items_and_features(records):
    root, vocab, truth = records
    source = Yt8mFeatures(str(root / "train*.tfrecord"), vocab)
    cfg = load_config(overrides=["features.frames=8", "features.workers=2"])  # two files, two processes
    items = source.items(CLASSES, cfg)
    assert len(items) == 48 and {it.rel: it.label for it in items} == truth
    assert all(it.group == it.rel for it in items) and items[0].extra["entities"]
    feats = source.features(items[:3], training_views(3), cfg)
    assert feats[0].features.shape == (3, 8, 1152) and feats[0].mask.all() and feats[0].features.dtype.is_floating_point
    assert not feats[0].features[0].equal(feats[0].features[1])  # a jittered view differs from the clean one
    rgb = Yt8mFeatures(str(root / "train0001.tfrecord"), vocab, rgb_only=True, per_class=2)
    items = rgb.items(CLASSES)
    assert len(items) == 8 and rgb.features(items, [CLEAN], cfg)[0].features.shape == (1, 8, 1024)


def test_trains_a_yt8m_model_that_learns(trained, records):
    root, vocab, truth = records
    model = load_model(trained)
    assert [m.backbone for m in model.members] == ["yt8m"] and model.members[0].config.feature_dim == 1152
    assert model.frames == 8 and model.extra["training"]["data"].startswith("yt8m:")
    with open(trained / "split.csv") as f:
        split = {r["path"]: r for r in csv.DictReader(f)}
    assert split.keys() == truth.keys() and all(r["group"] == r["path"] for r in split.values())
    assert model.extra["training"]["calibration"]["val_accuracy"] > 0.5  # chance: 0.25

    rows = list(predict_records(trained, [root / "train*.tfrecord"], label_map=LabelMap.load(vocab)))
    assert len(rows) == 50 and {r["id"] for r in rows} >= truth.keys()
    test = [r for r in rows if r["id"] in split and split[r["id"]]["split"] == "test"]
    assert all(r["expected"] == truth[r["id"]] for r in test) and len(test) == 12
    right = sum(max(r["probabilities"], key=r["probabilities"].get) == r["expected"] for r in test)
    assert right / len(test) > 0.5


def test_predict_command(trained, records, capsys):
    root, vocab, _ = records
    assert main(["yt8m", "predict", str(root / "train0000.tfrecord"), "--model", str(trained), "--json",
                 "--vocabulary", str(vocab)]) == 0
    out = capsys.readouterr()
    rows = [json.loads(line) for line in out.out.splitlines()]
    assert len(rows) == 25 and set(rows[0]) == {"id", "label", "confidence", "probabilities", "trust", "expected"}
    assert "accuracy" in out.err


def test_train_command_errors(records, tmp_path, capsys):
    root, vocab, _ = records
    assert main(["train", "--features", f"yt8m:{root}/*.tfrecord", "--out", str(tmp_path)]) == 2
    assert "--vocabulary" in capsys.readouterr().err
    assert main(["train", "--features", "frames:x", "--vocabulary", str(vocab), "--out", str(tmp_path)]) == 2
    assert main(["train", "--out", str(tmp_path)]) == 2


def test_a_record_without_frames_is_left_out(records, tmp_path):
    _, vocab, _ = records
    empty = np.zeros((0, 1024), np.uint8)
    write_tfrecord(tmp_path / "x.tfrecord", [frame_record("emp1", [3], empty, np.zeros((0, 128), np.uint8))])
    source = Yt8mFeatures(str(tmp_path / "x.tfrecord"), vocab)
    (video,) = source.features(source.items(CLASSES), [CLEAN], load_config(overrides=["features.workers=0"]))
    assert video.features is None and "no frames" in video.error
