"""The generated out-of-distribution recipe (vidtype/corpus/ood.py) and `vidtype corpus ood`."""

import csv

import pytest

from vidtype.cli import main
from vidtype.corpus.ood import KINDS, make_ood_set
from vidtype.sampling import sample_frames

SMALL = dict(size=(64, 48), seconds=1.0, fps=8)


def rows(manifest):
    with open(manifest, newline="") as f:
        return list(csv.DictReader(f))


def test_every_kind_is_written_as_a_decodable_clip(tmp_path):
    manifest = make_ood_set(tmp_path / "ood", n=len(KINDS), seed=3, **SMALL)
    listed = rows(manifest)
    assert [r["kind"] for r in listed] == list(KINDS) and {r["label"] for r in listed} == {"ood"}
    for r in listed:
        sample = sample_frames(manifest.parent / r["path"], 4)
        assert sample.frames and sample.info.width == 64 and sample.info.height == 48, r["path"]


def test_the_recipe_is_deterministic_and_reuses_its_clips(tmp_path):
    a = make_ood_set(tmp_path / "a", n=4, seed=1, **SMALL)
    b = make_ood_set(tmp_path / "b", n=4, seed=1, **SMALL)
    c = make_ood_set(tmp_path / "c", n=4, seed=2, **SMALL)
    files = [r["path"] for r in rows(a)]
    assert all((a.parent / f).read_bytes() == (b.parent / f).read_bytes() for f in files)
    assert any((a.parent / f).read_bytes() != (c.parent / p["path"]).read_bytes() for f, p in zip(files, rows(c)))
    stamp = (a.parent / files[0]).stat().st_mtime_ns
    make_ood_set(tmp_path / "a", n=4, seed=1, **SMALL)
    assert (a.parent / files[0]).stat().st_mtime_ns == stamp  # kept, not rewritten
    make_ood_set(tmp_path / "a", n=4, seed=1, size=(64, 48), seconds=0.5, fps=8)
    assert (a.parent / files[0]).stat().st_mtime_ns != stamp  # another recipe: rewritten


def test_cli_writes_a_set_and_rejects_odd_sizes(tmp_path, capsys):
    assert main(["corpus", "ood", str(tmp_path / "o"), "--n", "2", "--size", "64x48", "--seconds", "0.5"]) == 0
    assert len(rows(tmp_path / "o" / "manifest.csv")) == 2
    assert "manifest.csv" in capsys.readouterr().out
    assert main(["corpus", "ood", str(tmp_path / "p"), "--n", "1", "--size", "63x48"]) == 2
    with pytest.raises(ValueError):
        make_ood_set(tmp_path / "q", n=1, kinds=("lava_lamp",))
