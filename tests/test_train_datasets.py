from collections import Counter

import pytest

from vidtype.train.datasets import DatasetError, apply_split, load_dataset, read_split, split_items, write_split


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_folder_layout_with_groups(tmp_path):
    touch(tmp_path / "animation" / "a.mp4")
    touch(tmp_path / "gaming" / "minecraft" / "c1.mp4")
    touch(tmp_path / "gaming" / "minecraft" / "c2.webm")
    touch(tmp_path / "flat" / "notes.txt")  # not a video
    touch(tmp_path / "other" / "x.mp4")  # not a class
    items = load_dataset(tmp_path)
    assert [(it.rel, it.label, it.group) for it in items] == [
        ("animation/a.mp4", "animation", "animation/a.mp4"),
        ("gaming/minecraft/c1.mp4", "gaming", "gaming/minecraft"),
        ("gaming/minecraft/c2.webm", "gaming", "gaming/minecraft"),
    ]
    assert items[0].path.is_absolute() and items[2].column("ext") == "webm"


def test_csv_and_parquet_manifests(tmp_path):
    touch(tmp_path / "v" / "1.mp4")
    touch(tmp_path / "v" / "2.gif")
    (tmp_path / "m.csv").write_text("path,label,split,group,source_format\n"
                                    "v/1.mp4,natural,test,g1,video\nv/2.gif,flat,,,gif\n")
    items = load_dataset(tmp_path / "m.csv")
    assert [(it.rel, it.label, it.split, it.group, it.column("source_format")) for it in items] == [
        ("v/1.mp4", "natural", "test", "g1", "video"), ("v/2.gif", "flat", None, "v/2.gif", "gif")]
    assert items[0].path == (tmp_path / "v" / "1.mp4").resolve()

    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"path": ["v/1.mp4"], "label": ["gaming"]}), tmp_path / "m.parquet")
    (item,) = load_dataset(tmp_path / "m.parquet")
    assert (item.label, item.split, item.group) == ("gaming", None, "v/1.mp4")
    with pytest.raises(DatasetError, match="no column"):
        item.column("source_format")


def test_manifest_errors(tmp_path):
    (tmp_path / "bad.csv").write_text("path,label\na.mp4,cartoon\n")
    with pytest.raises(DatasetError, match="unknown label 'cartoon'"):
        load_dataset(tmp_path / "bad.csv")
    (tmp_path / "cols.csv").write_text("file,class\na.mp4,flat\n")
    with pytest.raises(DatasetError, match="path,label"):
        load_dataset(tmp_path / "cols.csv")
    with pytest.raises(DatasetError):
        load_dataset(tmp_path / "missing")


def _items(tmp_path, groups_per_class=10, clips=3):
    rows = ["path,label,group"]
    for label in ("animation", "gaming", "natural", "flat"):
        for g in range(groups_per_class):
            for c in range(clips):
                rows.append(f"{label}/{g}_{c}.mp4,{label},{label}{g}")
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    return load_dataset(tmp_path / "m.csv")


def test_split_is_stratified_group_aware_and_seeded(tmp_path):
    items = split_items(_items(tmp_path), 0.2, 0.2, seed=1)
    by_group = {}
    for it in items:
        by_group.setdefault(it.group, set()).add(it.split)
    assert all(len(s) == 1 for s in by_group.values())  # no group straddles two splits
    counts = Counter((it.split, it.label) for it in items)
    for label in ("animation", "gaming", "natural", "flat"):  # 10 groups of 3: 6 / 2 / 2 groups
        assert (counts["train", label], counts["val", label], counts["test", label]) == (18, 6, 6)
    again = split_items(_items(tmp_path), 0.2, 0.2, seed=1)
    assert [it.split for it in again] == [it.split for it in items]
    other = split_items(_items(tmp_path), 0.2, 0.2, seed=2)
    assert [it.split for it in other] != [it.split for it in items]


def test_given_splits_are_kept_and_pin_their_group(tmp_path):
    items = _items(tmp_path)
    items[0].split = "test"  # animation0_0 -> its whole group goes to test
    split_items(items, 0.2, 0.2, seed=0)
    assert {it.split for it in items if it.group == items[0].group} == {"test"}


def test_split_file_round_trip(tmp_path):
    items = split_items(_items(tmp_path, groups_per_class=5, clips=1), 0.2, 0.2, seed=0)
    path = write_split(items, tmp_path / "split.csv")
    table = read_split(path)
    assert table == {it.rel: it.split for it in items}
    fresh = _items(tmp_path, groups_per_class=5, clips=1)
    test = apply_split(fresh, path, keep="test")
    assert {it.rel for it in test} == {it.rel for it in items if it.split == "test"}
