"""`vidtype corpus merge`: several manifests become one, each part split exactly as it would be alone."""

import csv

from vidtype.cli import main
from vidtype.train.datasets import load_dataset, split_items
from vidtype.train.synthetic import make_dataset


def test_each_part_keeps_its_own_split_and_groups_never_merge(tmp_path, capsys):
    real = make_dataset(tmp_path / "real", per_class=5, seconds=0.5, manifest=True)
    recorded = make_dataset(tmp_path / "recorded", per_class=5, seconds=0.5, seed=1, manifest=True)
    out = tmp_path / "runs" / "both.csv"
    assert main(["corpus", "merge", str(out), str(real), str(recorded), "--val", "0.2", "--test", "0.2"]) == 0
    assert "merged manifest" in capsys.readouterr().out

    merged = load_dataset(out)
    assert len(merged) == 40 and all(it.path.is_file() for it in merged)
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["corpus"] for r in rows} == {"real", "recorded"} and "source_format" in rows[0]
    assert all(r["group"].startswith(r["corpus"] + ":") for r in rows)
    for part, name in ((real, "real"), (recorded, "recorded")):  # the same split as the part alone
        alone = {it.path: it.split for it in split_items(load_dataset(part), 0.2, 0.2, 0)}
        assert {it.path: it.split for it in merged if it.extra["corpus"] == name} == alone
        assert {"train", "val", "test"} == set(alone.values())

    tests = tmp_path / "tests.csv"
    assert main(["corpus", "merge", str(tests), str(real), str(recorded), "--only", "test", "--val", "0.2",
                 "--test", "0.2"]) == 0
    assert {it.path for it in load_dataset(tests)} == {it.path for it in merged if it.split == "test"}

    assert main(["corpus", "merge", str(out), str(real), str(tmp_path / "real" / "manifest.csv")]) == 2
    assert "named 'real'" in capsys.readouterr().err
