"""Curation: vocabulary, mapping rules, per-video decisions, label files (TFRecord and CSV), the manifest."""

import csv

import pytest

from vidtype.cli import main
from vidtype.yt8m.curate import balance, curate, read_labels, write_manifest
from vidtype.yt8m.errors import Yt8mError
from vidtype.yt8m.mapping import LabelMap, default_mapping_path, load_rules, read_mapping
from vidtype.yt8m.vocabulary import read_vocabulary
from yt8m_data import video_record, write_tfrecord, write_vocabulary


@pytest.fixture
def vocab(tmp_path):
    return write_vocabulary(tmp_path / "vocabulary.csv")


def test_reads_the_vocabulary(vocab):
    v = read_vocabulary(vocab)
    assert len(v) == 16 and v[5].name == "Naruto" and v[5].verticals == ("Arts & Entertainment", "Books & Literature")
    assert v[0].verticals == ("Games",) and "anime television series" in v[5].description and v[0].kgid == "/m/0test0"


def test_shipped_mapping_is_valid_and_maps_the_issue_examples(vocab):
    assert len(read_mapping(default_mapping_path())) > 100
    m = LabelMap.load(vocab)
    target = {m.vocabulary[i].name: t for i, (t, _) in m.targets.items()}
    assert target["Game"] == target["Video game"] == target["Minecraft"] == target["Starfall Saga"] == "gaming"
    assert target["Animation"] == target["Cartoon"] == target["Naruto"] == "animation"
    assert target["Nature"] == target["Dog"] == target["Car"] == "natural"
    assert target["Slide show"] == target["Video lesson"] == target["Personal computer"] == "flat"
    assert target["Chess"] == "drop" and "Pokémon" not in target and "Music" not in target


def test_decisions(vocab):
    m = LabelMap.load(vocab)
    assert m.decide([2, 0, 12]).label == "gaming" and m.decide([2, 0, 12]).entities == ("Minecraft", "Game")
    assert m.decide([1, 7]).reason == "ambiguous" and m.decide([1, 7]).label is None
    assert m.decide([11, 0]).reason == "dropped" and m.decide([11, 0]).entities == ("Chess",)
    assert m.decide([12, 13]).reason == "unmapped"
    assert m.decide([3, 9999]).label == "animation"  # an index missing from the vocabulary is ignored


def test_user_mapping_overrides_and_precedence(vocab, tmp_path):
    mine = tmp_path / "mine.csv"
    mine.write_text("# my rules\nmatch,value,class,note\nname,pokémon,gaming,\nname,Car,ignore,\n"
                    "vertical1,Arts & Entertainment,animation,\nkgid,/m/0test12,flat,\n")
    m = LabelMap(read_vocabulary(vocab), load_rules([mine]))
    assert m.decide([13]).label == "gaming"  # overrides the shipped "ignore", case-insensitively
    assert m.decide([10]).reason == "unmapped"  # Car ignored
    assert m.decide([12]).label == "flat"  # kgid beats the vertical rule
    assert m.decide([14]).label == "gaming"  # the shipped description rule beats a vertical rule
    only = LabelMap(read_vocabulary(vocab), load_rules([mine], default=False))
    assert only.decide([1]).reason == "unmapped" and only.decide([3]).label == "animation"
    bad = tmp_path / "bad.csv"
    bad.write_text("match,value,class\nname,X,cartoons\n")
    with pytest.raises(Yt8mError, match="bad.csv:2: unknown class"):
        read_mapping(bad)


def test_label_files_tfrecord_and_csv(tmp_path):
    rec = write_tfrecord(tmp_path / "train00.tfrecord", [video_record("aa11", [1, 2]), video_record("bb22", [])])
    assert list(read_labels(rec)) == [("aa11", [1, 2]), ("bb22", [])]
    (tmp_path / "labels.csv").write_text("id,labels\ncc33,3 4\ndd44,\n")
    assert list(read_labels(tmp_path / "labels.csv")) == [("cc33", [3, 4]), ("dd44", [])]


def test_balance_is_stable_and_capped():
    by_class = {"a": [f"a{i}" for i in range(10)], "b": [f"b{i}" for i in range(4)], "c": []}
    kept = balance(by_class, key=str)
    assert [len(v) for v in kept.values()] == [4, 4, 0]
    assert kept["a"] == balance({"a": list(reversed(by_class["a"])), "b": by_class["b"]}, key=str)["a"]
    assert [len(v) for v in balance(by_class, 2, key=str).values()] == [2, 2, 0]
    assert balance(by_class, 0, key=str) == by_class


def _label_files(tmp_path):
    videos = [(f"g{i:03d}", [1]) for i in range(6)] + [(f"a{i:03d}", [3]) for i in range(4)] + \
             [(f"n{i:03d}", [7, 12]) for i in range(5)] + [(f"f{i:03d}", [8]) for i in range(3)] + \
             [("amb1", [1, 7]), ("drp1", [11, 0]), ("unm1", [12])]
    write_tfrecord(tmp_path / "train00.tfrecord", [video_record(v, labels) for v, labels in videos[:10]])
    write_tfrecord(tmp_path / "train01.tfrecord", [video_record(v, labels) for v, labels in videos[10:]])
    with open(tmp_path / "more.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "labels"])
        w.writerows([("f900", "9"), ("g000", "3")])  # g000 again: the first occurrence counts
    return [str(tmp_path / "train*.tfrecord"), str(tmp_path / "more.csv")]


def test_curate_balances_and_explains(vocab, tmp_path):
    result = curate(_label_files(tmp_path), LabelMap.load(vocab))
    assert result.files == 3 and result.found == {"gaming": 6, "animation": 4, "natural": 5, "flat": 4}
    assert result.reasons == {"mapped": 19, "ambiguous": 1, "dropped": 1, "unmapped": 1, "duplicate": 1}
    assert [r.label for r in result.rows].count("gaming") == 4 and len(result.rows) == 16
    path = write_manifest(result.rows, tmp_path / "out" / "manifest.csv")
    rows = list(csv.DictReader(open(path)))
    assert rows[0].keys() == {"id", "label", "entities"}
    assert {"id": "n000", "label": "natural", "entities": "Dog"} in rows


def test_curate_command(vocab, tmp_path, capsys):
    files = _label_files(tmp_path)
    out = tmp_path / "manifest.csv"
    assert main(["yt8m", "curate", "--vocabulary", str(vocab), "--labels", *files, "--out", str(out),
                 "--per-class", "3"]) == 0
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == 12 and {r["label"] for r in rows} == {"animation", "gaming", "natural", "flat"}
    err = capsys.readouterr().err
    assert "ambiguous 1" in err and "gaming 6 -> 3" in err and "decide no entity" in err
    assert main(["yt8m", "curate", "--vocabulary", str(vocab), "--labels", str(tmp_path / "nope*.tfrecord"),
                 "--out", str(out)]) == 2
