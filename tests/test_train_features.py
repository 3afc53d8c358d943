import functools
import shutil

import pytest
import torch

from vidtype.train import features as F
from vidtype.train.features import CLEAN, eval_views, extract_features, training_views
from vidtype.train.synthetic import make_clip, register_tiny_backbone

TINY = register_tiny_backbone()
KW = dict(frames=4, device="cpu", runtime="torch", workers=0, progress=False, dtype="float32")


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    return [make_clip(d / "a.mp4", "animation", 1, seconds=1), make_clip(d / "n.mp4", "natural", 2, seconds=1)]


def count_sampling(monkeypatch):
    import vidtype.sampling

    calls = []
    real = vidtype.sampling.sample_frames

    @functools.wraps(real)  # keeps the signature, whose defaults are part of the cache key
    def counting(*a, **kw):
        calls.append(a[0])
        return real(*a, **kw)

    monkeypatch.setattr(vidtype.sampling, "sample_frames", counting)
    return calls


def test_views_are_cached_and_reused(clips, tmp_path, monkeypatch):
    calls = count_sampling(monkeypatch)
    views = training_views(3, jitter=0.5)
    first = extract_features(clips, TINY, views, tmp_path, **KW)
    assert [f.features.shape for f in first] == [(3, 4, 46)] * 2
    assert first[0].mask.all() and first[0].times.shape == (3, 4)
    assert len(calls) == 2 * 3  # one sample per temporal setting: clean + 2 jittered views
    assert not torch.equal(first[0].features[0], first[0].features[1])  # augmented views differ

    calls.clear()
    again = extract_features(clips, TINY, views, tmp_path, **KW)
    assert calls == []  # nothing decoded twice
    assert all(torch.equal(a.features, b.features) for a, b in zip(first, again))

    copy = shutil.copy(clips[0], tmp_path / "renamed.mp4")  # keyed by content, not by name
    (same,) = extract_features([copy], TINY, views[:1], tmp_path, **KW)
    assert calls == [] and torch.equal(same.features[0], first[0].features[0])

    extract_features(clips[:1], TINY, views[:1], tmp_path, **(KW | {"frames": 3}))  # other settings: new entries
    assert len(calls) == 1


def test_resumes_with_only_missing_views(clips, tmp_path, monkeypatch):
    extract_features(clips[:1], TINY, [CLEAN], tmp_path, **KW)
    calls = count_sampling(monkeypatch)
    out = extract_features(clips, TINY, [CLEAN], tmp_path, **KW)
    assert calls == [str(clips[1])] and all(o.error is None for o in out)


def test_tta_views_follow_the_pipeline(clips, tmp_path):
    from vidtype import backbones
    from vidtype.pipeline import TTA_JITTER
    from vidtype.sampling import sample_frames
    from vidtype.transforms import preprocess, tta_views

    views = eval_views(tta=True)
    assert len(views) == 8 and views[4].seed == 1 and views[4].jitter == TTA_JITTER
    (f,) = extract_features(clips[:1], TINY, [CLEAN] + views, tmp_path, **KW)
    enc = backbones.create(TINY, device="cpu", runtime="torch")
    s0, s1 = (sample_frames(clips[0], 4, seed=s, jitter=j) for s, j in [(None, 0.0), (1, TTA_JITTER)])
    expected = [enc(preprocess([x.image for x in s0.frames], 32))]
    for s in (s0, s1):
        expected += [enc(v) for v in tta_views([x.image for x in s.frames], 32)]
    torch.testing.assert_close(f.features, torch.stack(expected))


def test_failures_are_recorded_and_skipped(tmp_path, monkeypatch):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    (f,) = extract_features([bad], TINY, [CLEAN], tmp_path / "cache", **KW)
    assert f.features is None and f.error.startswith("not_a_video")
    calls = count_sampling(monkeypatch)
    (again,) = extract_features([bad], TINY, [CLEAN], tmp_path / "cache", **KW)
    assert calls == [] and again.error == f.error
    (missing,) = extract_features([tmp_path / "nope.mp4"], TINY, [CLEAN], tmp_path / "cache", **KW)
    assert "cannot read" in missing.error


def test_float16_storage_and_threads(clips, tmp_path):
    out = extract_features(clips, TINY, [CLEAN], tmp_path, **(KW | {"dtype": "float16", "workers": 2}))
    assert out[0].features.dtype == torch.float16
    ref = extract_features(clips, TINY, [CLEAN], tmp_path / "b", **KW)
    torch.testing.assert_close(out[1].features.float(), ref[1].features, atol=1e-2, rtol=1e-2)


def test_cache_key_depends_on_view_recipe_not_name():
    s = F.settings_dict("b", 16, False, F.AugmentConfig())
    a = F.view_key("h", s, F.View("x", seed=1, jitter=0.5, augment=1))
    assert a == F.view_key("h", s, F.View("renamed", seed=1, jitter=0.5, augment=1))
    assert a != F.view_key("h", s, F.View("x", seed=2, jitter=0.5, augment=2))
    other = F.settings_dict("b", 16, False, F.AugmentConfig(gif=0.9))
    assert F.view_key("h", s, CLEAN) == F.view_key("h", other, CLEAN)  # clean views ignore augmentation settings
    assert a != F.view_key("h", other, F.View("x", seed=1, jitter=0.5, augment=1))
