"""Timelines: consecutive windows, each classified on its own frames, decoded in sorted passes."""

from __future__ import annotations

import json

import pytest

from videos import make_video, read_stamp

from vidtype import classifier, timeline
from vidtype.cli import main
from vidtype.store import CLASSES
from vidtype.timeline import classify_timeline, windows

FPS = 10


@pytest.mark.parametrize("duration, seconds, expected", [
    (10, 3, [(0, 3), (3, 6), (6, 10)]),  # a 1 s remainder joins the last window
    (10, 4, [(0, 4), (4, 8), (8, 10)]),  # a 2 s remainder is a window of its own
    (9, 3, [(0, 3), (3, 6), (6, 9)]),
    (2, 5, [(0, 2)]),  # shorter than one window
])
def test_windows_cover_the_video(duration, seconds, expected):
    assert windows(duration, seconds) == expected


def test_windows_need_a_positive_length():
    with pytest.raises(ValueError):
        windows(10, 0)


@pytest.fixture(scope="module")
def clf(tiny_model_dir):
    return classifier(tiny_model_dir)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """6 s: moving shapes, then 2 s of black, then shapes again; each frame carries its index as a stamp."""
    return make_video(tmp_path_factory.mktemp("tl") / "mixed.mp4", seconds=6, fps=FPS, size=(320, 240),
                      black_spans=[(2.0, 4.0)])


def spy(monkeypatch, clf):
    """Record decode_at calls and the sample each window is classified on."""
    calls, samples = [], []
    real_decode, real_classify = timeline.decode_at, clf.classify_samples

    def decode_at(path, times, **kw):
        calls.append(list(times))
        return real_decode(path, times, **kw)

    def classify_samples(path, s, **kw):
        samples.append(s[0])
        return real_classify(path, s, **kw)

    monkeypatch.setattr(timeline, "decode_at", decode_at)
    monkeypatch.setattr(clf, "classify_samples", classify_samples)
    return calls, samples


def test_each_window_is_classified_on_its_own_frames(clf, mixed, monkeypatch):
    calls, samples = spy(monkeypatch, clf)
    segments = classify_timeline(clf, mixed, 2.0, frames=4)
    assert len(calls) == 1 and calls[0] == sorted(calls[0])  # one sorted pass over the whole video
    assert [(s.start_s, s.end_s) for s in segments] == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
    for seg, sample in zip(segments, samples):
        assert 1 <= len(sample.frames) <= 4
        for f in sample.frames:
            assert seg.start_s <= f.time_s < seg.end_s
            if not sample.rejected:  # stamps are readable on the non-black frames
                assert seg.start_s * FPS <= read_stamp(f.image) < seg.end_s * FPS
        assert set(seg.probabilities) == set(CLASSES) and 0 <= seg.trust <= 1
    black = samples[1]  # every frame of the middle window is black: classified anyway, reported as rejected
    assert black.rejected and all(r.reason == "black" for r in black.rejected)
    assert not samples[0].rejected and not samples[2].rejected


def test_long_timelines_decode_in_several_sorted_passes(clf, mixed, monkeypatch):
    one_pass = classify_timeline(clf, mixed, 1.0, frames=2)
    monkeypatch.setattr(timeline, "MAX_FRAMES_IN_MEMORY", 6)  # two windows of 3 candidates per pass
    calls, _ = spy(monkeypatch, clf)
    several = classify_timeline(clf, mixed, 1.0, frames=2)
    assert len(calls) == 3
    flat = [t for c in calls for t in c]
    assert flat == sorted(flat)
    assert [s.to_dict() for s in several] == [s.to_dict() for s in one_pass]


def test_predict_timeline_option(tiny_model_dir, mixed, capsys):
    args = ["predict", str(mixed), "--model", str(tiny_model_dir), "--frames", "2", "--timeline", "3"]
    assert main([*args, "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert [(s["start_s"], s["end_s"]) for s in row["segments"]] == [(0.0, 3.0), (3.0, 6.0)]
    assert set(row["segments"][0]) == {"start_s", "end_s", "label", "confidence", "probabilities", "trust"}

    assert main(args) == 0
    out = capsys.readouterr().out
    assert "0.0-3.0 s" in out and "3.0-6.0 s" in out
