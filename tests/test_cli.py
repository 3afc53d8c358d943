"""`vidtype predict` as a user runs it: a real subprocess, real files, good and bad."""

import json
import os
import subprocess
import sys

import pytest

BAD = ["zero_byte", "random_bytes", "audio_only", "truncated"]
ODD = ["single_frame", "rotated", "vfr", "10bit", "8k", "odd_size", "gif", "claims_longer_mkv",
       "claims_more_frames_avi", "truncated_mkv"]


def run(*args, env=None, timeout=240):
    return subprocess.run([sys.executable, "-m", "vidtype.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture(scope="module")
def isolated_tmp(tmp_path_factory):
    """A TMPDIR of its own, to see that nothing is left behind."""
    d = tmp_path_factory.mktemp("tmpdir")
    env = dict(os.environ, TMPDIR=str(d))
    return d, env


@pytest.mark.slow
def test_bad_and_odd_inputs_never_crash(video_factory, tiny_model_dir, isolated_tmp):
    tmpdir, env = isolated_tmp
    files = [video_factory.special(k) for k in BAD + ODD] + [video_factory(".mp4", seconds=2)]
    r = run("predict", *files, "--model", tiny_model_dir, "--json", env=env)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 1  # some files failed, the others were classified
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["path"] for row in rows] == [str(f) for f in files]
    by_kind = dict(zip(BAD + ODD + ["good"], rows))
    for kind in BAD:
        row = by_kind[kind]
        assert row["error_code"] in ("not_a_video", "decode_error"), row
        assert len(row["error"]) > 15 and "Traceback" not in row["error"]
    for kind in ODD + ["good"]:
        assert "error" not in by_kind[kind], (kind, by_kind[kind])
        assert by_kind[kind]["label"] in ("animation", "gaming", "natural", "flat", "unknown")
    assert by_kind["single_frame"]["frames"] and len(by_kind["single_frame"]["frames"]) == 1
    assert by_kind["rotated"]["video"]["rotation"] == 90
    assert (by_kind["rotated"]["video"]["width"], by_kind["rotated"]["video"]["height"]) == (240, 320)
    assert by_kind["8k"]["video"]["width"] == 7680
    # `.ses` is a session marker some native library writes once per process; anything else would be ours
    assert [p.name for p in tmpdir.iterdir() if p.name != ".ses"] == []


def test_table_output_and_exit_status(video_factory, tiny_model_dir):
    good = video_factory(".mp4", seconds=2)
    r = run("predict", good, "--model", tiny_model_dir)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["label", "conf", "trust"]
    assert str(good) in lines[2]
    r = run("predict", good, video_factory.special("zero_byte"), "--model", tiny_model_dir)
    assert r.returncode == 1 and "ERROR" in r.stdout and "Traceback" not in r.stderr


def test_missing_model_says_what_to_do(tmp_path, video_factory):
    r = run("predict", video_factory(".mp4", seconds=2), "--model", tmp_path / "nope")
    assert r.returncode == 2
    assert "no vidtype model" in r.stderr and "Traceback" not in r.stderr


def test_missing_file_is_reported_per_file(tiny_model_dir, tmp_path):
    r = run("predict", tmp_path / "absent.mp4", "--model", tiny_model_dir, "--json")
    row = json.loads(r.stdout)
    assert r.returncode == 1 and row["error_code"] == "decode_error" and "absent.mp4" in row["error"]
