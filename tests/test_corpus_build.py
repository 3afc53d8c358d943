"""`vidtype corpus build`: sources run into one manifest, clip by clip, and a rerun resumes instead of redoing."""

import csv
import json

import pytest
from corpus_checks import need_packages

from vidtype.cli import main
from vidtype.corpus.recorded import SOURCES, packages, photos, source


def test_every_source_declares_what_the_build_needs(tmp_path):
    for name in SOURCES:
        module = source(name)
        assert module.NAME == name and module.LABEL in ("animation", "gaming", "natural", "flat")
        assert set(module.APT) <= set(packages())
    assert main(["corpus", "build", str(tmp_path / "never"), "--sources", "nope"]) == 2
    assert not (tmp_path / "never").exists()


@pytest.mark.slow
def test_a_build_resumes_and_reports(tmp_path, capsys):
    need_packages(photos.APT)
    out = tmp_path / "recorded"
    assert main(["corpus", "build", str(out), "--per-class", "1", "--sources", "photos", "--quiet"]) == 0
    assert "photos" in capsys.readouterr().out
    with open(out / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["label"] for r in rows] == ["natural"] and (out / rows[0]["path"]).is_file()
    assert set(rows[0]) == {"path", "label", "source", "group", "license"}
    report = json.loads((out / "build.json").read_text())["photos"]
    assert report["clips"] == report["recorded"] == 1 and report["seconds"] > 0 and report["error"] is None
    first = (out / rows[0]["path"]).stat().st_mtime_ns

    assert main(["corpus", "build", str(out), "--per-class", "2", "--sources", "photos", "--quiet"]) == 0
    with open(out / "manifest.csv", newline="") as f:
        again = list(csv.DictReader(f))
    assert again[0] == rows[0] and len(again) == 2  # the first clip kept, one more recorded
    assert (out / rows[0]["path"]).stat().st_mtime_ns == first
    assert json.loads((out / "build.json").read_text())["photos"]["recorded"] == 2
