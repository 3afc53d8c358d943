"""The Ray engine on a real local Ray instance (conftest's `ray_local`): decode tasks, model actors, the same rows
as the local engine, resume; feature extraction into the training cache from tasks + encoder actors.

The actors run in Ray's own worker processes, where only built-in backbones exist: these tests use the
efficientnet_lite0 test model (`tiny_model_dir`), not the tiny test backbone.
"""

import shutil

import pyarrow.parquet as pq
import pytest
import torch

from vidtype.batch import classify_batch, extract_batch
from vidtype.batch.inputs import resolve_inputs

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")]


@pytest.fixture(scope="module")
def videos(tmp_path_factory, batch_videos):
    """Five videos: four clips (one of another size and container) and a broken file."""
    root = tmp_path_factory.mktemp("ray_videos")
    for rel in ("animation/a000.mp4", "gaming/g000.mp4", "natural/n000.mp4", "other/wide.mkv", "other/bad.mp4"):
        shutil.copy(batch_videos / rel, root / rel.replace("/", "_"))
    return root


@pytest.fixture(scope="module")
def local_rows(tmp_path_factory, videos, tiny_model_dir):
    out = tmp_path_factory.mktemp("local") / "r.parquet"
    classify_batch(videos, out, tiny_model_dir, workers=0, device="cpu", progress=False)
    return {r["path"]: r for r in pq.read_table(out).to_pylist()}


def test_ray_engine_gives_the_local_engines_rows_and_resumes(ray_local, tmp_path, videos, tiny_model_dir,
                                                            local_rows):
    inputs = resolve_inputs(videos)
    out = tmp_path / "r.parquet"
    first = classify_batch(inputs[:2], out, tiny_model_dir, workers=0, progress=False)  # a run to resume
    assert (first.processed, first.failed) == (2, 0)
    summary = classify_batch(videos, out, tiny_model_dir, ray=True, progress=False)
    assert (summary.total, summary.skipped, summary.processed, summary.failed) == (5, 2, 3, 1)
    rows = pq.read_table(out).to_pylist()
    assert [r["path"] for r in rows] == inputs  # each exactly once, in input order
    for r in rows:
        ref = local_rows[r["path"]]
        assert (r["label"], r["error_code"]) == (ref["label"], ref["error_code"])
        if r["error"] is None:
            for c in ("animation", "gaming", "natural", "flat"):
                assert r[f"prob_{c}"] == pytest.approx(ref[f"prob_{c}"], abs=2e-4)
            assert r["frames"] == ref["frames"]


def test_ray_feature_extraction_writes_the_cache_train_reads(ray_local, tmp_path, videos):
    from vidtype.train.features import extract_features, load_features, training_views

    views = training_views(2)  # the clean view and an augmented one
    kw = dict(frames=4)
    summary = extract_batch(videos, tmp_path / "ray", "efficientnet_lite0", views, ray=True, progress=False, **kw)
    assert (summary.total, summary.failed) == (5, 1)
    local = extract_features(resolve_inputs(videos), "efficientnet_lite0", views, tmp_path / "local", device="cpu",
                             progress=False, **kw)
    for ref in local:
        got = load_features(ref.path, "efficientnet_lite0", views, tmp_path / "ray", **kw)
        assert (got.error is None) == (ref.error is None)
        if ref.error is None:
            assert torch.equal(got.mask, ref.mask) and torch.equal(got.times, ref.times)
            assert torch.allclose(got.features.float(), ref.features.float(), atol=1e-2)
