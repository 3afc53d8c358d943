"""The local batch engine: same answers as `Classifier.classify`, errors per row, resume, URLs, the CLI, and
killing a run (SIGKILL and Ctrl-C) then rerunning it: every input exactly once."""

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from vidtype.batch import classify_batch, extract_batch
from vidtype.batch.inputs import resolve_inputs
from vidtype.batch.predict import BatchPredictor, DecodeOptions, decode_video, for_backbones
from vidtype.cli import main
from vidtype.pipeline import Classifier
from vidtype.store import load_model

REPO = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def clf(batch_model_dir):
    return Classifier(load_model(batch_model_dir), device="cpu")


def rows_by_path(out) -> dict:
    rows = pq.read_table(out).to_pylist()
    assert len({r["path"] for r in rows}) == len(rows), "a path has two rows"
    return {r["path"]: r for r in rows}


def assert_same_as_classify(row: dict, pred) -> None:
    assert row["label"] == pred.label and row["error"] is None
    for c, p in pred.probabilities.items():
        assert row[f"prob_{c}"] == pytest.approx(p, abs=2e-4)
    assert row["trust"] == pytest.approx(pred.trust, abs=2e-4)
    assert [f["time_s"] for f in json.loads(row["frames"])] == [f.time_s for f in pred.frames]
    assert row["video_width"] == pred.video["width"] and row["model_name"] == "tiny"


def test_process_pool_engine_matches_classify_and_records_errors(tmp_path, batch_videos, batch_model_dir, clf):
    out = tmp_path / "r.parquet"
    summary = classify_batch(batch_videos, out, batch_model_dir, workers=2, device="cpu", progress=False)
    inputs = resolve_inputs(batch_videos)
    assert (summary.total, summary.processed, summary.failed) == (10, 10, 1)
    rows = rows_by_path(out)
    assert list(rows) == inputs  # merged in input order
    bad = rows[str(batch_videos / "other" / "bad.mp4")]
    assert bad["error_code"] == "not_a_video" and bad["label"] is None
    for path, row in rows.items():
        if row["error"] is None:
            assert_same_as_classify(row, clf.classify(path))
            assert row["timing_decode_ms"] > 0 and row["timing_features_ms"] > 0
    assert not Path(str(out) + ".parts").exists()

    again = classify_batch(batch_videos, out, batch_model_dir, workers=2, progress=False)  # idempotent
    assert (again.skipped, again.processed) == (10, 0)
    assert rows_by_path(out) == rows


def test_on_a_cpu_each_worker_runs_the_whole_pipeline_with_the_same_results(tmp_path, batch_videos, tiny_model_dir):
    """A built-in backbone (efficientnet_lite0): workers load the model themselves and encode their own videos."""
    from vidtype.batch.local import classify_local

    model = load_model(tiny_model_dir)
    paths = resolve_inputs(batch_videos)[:4] + [str(batch_videos / "other" / "bad.mp4")]
    records = {r["path"]: r for r in classify_local(paths, model, DecodeOptions(frames=6), workers=2, device="cpu")}
    assert set(records) == set(paths)
    assert records[paths[-1]]["error_code"] == "not_a_video"
    reference = Classifier(model, device="cpu")
    for p in paths[:-1]:
        expected = reference.classify(p, frames=6)
        assert records[p]["probabilities"] == pytest.approx(expected.probabilities, abs=2e-4)
        assert records[p]["trust"] == pytest.approx(expected.trust, abs=2e-4)
        assert records[p]["timings_ms"]["features"] > 0  # encoded in the worker, not shipped as frames


def test_resume_adds_only_new_inputs_and_retries_failures_when_asked(tmp_path, batch_videos, batch_model_dir):
    videos = tmp_path / "v"
    shutil.copytree(batch_videos / "flat", videos)
    out = tmp_path / "r.parquet"
    classify_batch(videos, out, batch_model_dir, workers=0, progress=False)
    shutil.copy(batch_videos / "other" / "bad.mp4", videos / "bad.mp4")
    shutil.copy(batch_videos / "other" / "wide.mkv", videos / "wide.mkv")
    s = classify_batch(videos, out, batch_model_dir, workers=0, progress=False)
    assert (s.total, s.skipped, s.processed, s.failed) == (4, 2, 2, 1)
    s = classify_batch(videos, out, batch_model_dir, workers=0, retry_failed=True, progress=False)
    assert (s.skipped, s.processed, s.failed) == (3, 1, 1)
    assert sorted(rows_by_path(out)) == sorted(resolve_inputs(videos))


def test_tta_and_frames_options_match_classify(tmp_path, batch_videos, batch_model_dir, clf):
    video = batch_videos / "other" / "wide.mkv"
    out = tmp_path / "r.parquet"
    classify_batch(video, out, batch_model_dir, workers=0, frames=5, tta=True, progress=False)
    (row,) = rows_by_path(out).values()
    assert_same_as_classify(row, clf.classify(video, frames=5, tta=True))


def test_batches_of_several_videos_match_one_at_a_time(batch_videos, clf):
    decoded = [decode_video(p, DecodeOptions(frames=8)) for p in resolve_inputs(batch_videos)[:5]]
    together = BatchPredictor(clf).predict(decoded)
    alone = [BatchPredictor(clf).predict([d])[0] for d in decoded]
    for a, b in zip(together, alone):
        assert a["label"] == b["label"]
        assert a["probabilities"] == pytest.approx(b["probabilities"], abs=2e-4)


def test_decoders_ship_frames_shrunk_to_the_backbone_input(batch_videos, clf):
    size = next(iter(clf.encoders.values())).info.input_size
    path = str(batch_videos / "other" / "wide.mkv")
    full = decode_video(path, DecodeOptions(frames=6))
    small = decode_video(path, for_backbones(DecodeOptions(frames=6), clf.encoders))
    assert all(min(f.image.shape[:2]) == size for f in small.samples[0].frames)
    assert small.n_frames == full.n_frames and min(full.samples[0].frames[0].image.shape[:2]) > size
    a, b = BatchPredictor(clf).predict([full])[0], BatchPredictor(clf).predict([small])[0]
    assert a["probabilities"] == b["probabilities"] and a["trust"] == b["trust"]


def test_a_video_that_breaks_the_batch_fails_alone(batch_videos, clf):
    decoded = [decode_video(p, DecodeOptions(frames=8)) for p in resolve_inputs(batch_videos)[:3]]
    broken = decode_video(resolve_inputs(batch_videos)[3], DecodeOptions(frames=8))
    broken.samples[0].frames[0].image = np.zeros((4, 4), np.float32)  # not an RGB frame: preprocess refuses it
    records = BatchPredictor(clf).predict(decoded[:2] + [broken, decoded[2]])
    assert [r.get("error_code") for r in records] == [None, None, "internal_error", None]
    assert records[2]["path"] == broken.path


def test_urls_are_fetched_classified_and_reported_by_url(tmp_path, origin, batch_videos, batch_model_dir, clf,
                                                         monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    src = batch_videos / "natural" / "n000.mp4"
    shutil.copy(src, origin.directory / "n000.mp4")
    urls = [origin.url("/files/n000.mp4"), origin.url("/status/404")]
    (tmp_path / "list.csv").write_text("url\n" + "\n".join(urls) + "\n")
    out = tmp_path / "r.parquet"
    summary = classify_batch(tmp_path / "list.csv", out, batch_model_dir, workers=0, progress=False)
    assert summary.failed == 1
    rows = rows_by_path(out)
    assert_same_as_classify(rows[urls[0]], clf.classify(src))
    assert rows[urls[1]]["error_code"] == "fetch_failed"
    assert list((tmp_path / "tmp").iterdir()) == []  # downloads deleted


def test_cli_batch(tmp_path, batch_videos, batch_model_dir, capsys):
    out = tmp_path / "r.parquet"
    code = main(["batch", str(batch_videos / "gaming"), "--out", str(out), "--model", str(batch_model_dir),
                 "--workers", "0", "--quiet"])
    assert code == 0
    assert "2 videos, 0 already done, 2 classified (0 failed)" in capsys.readouterr().out
    assert len(rows_by_path(out)) == 2
    assert main(["batch", str(batch_videos / "other"), "--out", str(out), "--model", str(batch_model_dir),
                 "--workers", "0", "--quiet"]) == 1  # bad.mp4 failed
    assert len(rows_by_path(out)) == 4
    assert main(["batch", str(batch_videos)]) == 2  # neither --out nor --features
    assert main(["batch", str(tmp_path / "nope"), "--out", str(out), "--model", str(batch_model_dir)]) == 2


def test_feature_extraction_fills_the_training_cache(tmp_path, batch_videos, batch_model_dir):
    from vidtype.train.features import load_features, training_views
    from vidtype.train.synthetic import TINY_BACKBONE

    cache = tmp_path / "cache"
    code = main(["batch", str(batch_videos / "animation"), "--features", str(cache), "--backbone", TINY_BACKBONE,
                 "--set", "features.views=2", "--set", "features.frames=4", "--workers", "1", "--quiet"])
    assert code == 0
    for p in resolve_inputs(batch_videos / "animation"):
        f = load_features(p, TINY_BACKBONE, training_views(2), cache, frames=4)
        assert f.error is None and f.features.shape == (2, 4, 46)
    s = extract_batch(batch_videos / "other", cache, TINY_BACKBONE, training_views(2), frames=4, progress=False)
    assert (s.total, s.failed) == (2, 1)


# ---- killing a run and resuming it ------------------------------------------------------------------------------

RUNNER = """
import sys, time
sys.path.insert(0, {repo!r})
from vidtype.train.synthetic import register_tiny_backbone
register_tiny_backbone()               # the test model's backbone
import vidtype.batch.predict as predict
real = predict.sample_views
def slow(*args, **kwargs):             # slow decoding down, so that the run is still going when it is killed
    time.sleep(0.15)
    return real(*args, **kwargs)
predict.sample_views = slow
from vidtype.cli import main
sys.exit(main(sys.argv[1:]))
"""


def start_run(tmp_path, videos, out, model_dir) -> subprocess.Popen:
    script = tmp_path / "run.py"
    script.write_text(RUNNER.format(repo=str(REPO)))
    return subprocess.Popen([sys.executable, str(script), "batch", str(videos), "--out", str(out), "--model",
                             str(model_dir), "--workers", "0", "--chunk-rows", "2", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # Ctrl-C's default disposition, whatever this process inherited (an ignored SIGINT
                            # would be inherited, and Python then installs no KeyboardInterrupt handler)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for_parts(out: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    parts = Path(str(out) + ".parts")
    deadline = time.monotonic() + timeout
    while len(list(parts.glob("part-*.parquet"))) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no chunks written"
        time.sleep(0.02)


@pytest.fixture
def many_videos(tmp_path, batch_videos):
    """20 inputs: the collection's 10 files twice, under two folders."""
    for k in range(2):
        shutil.copytree(batch_videos, tmp_path / "v" / f"copy{k}", ignore=shutil.ignore_patterns("*.txt", "*.csv"))
    return tmp_path / "v"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_killed_run_resumes_and_every_input_appears_exactly_once(tmp_path, many_videos, batch_model_dir, sig):
    out = tmp_path / "r.parquet"
    proc = start_run(tmp_path, many_videos, out, batch_model_dir)
    wait_for_parts(out, 2, proc)
    proc.send_signal(sig)
    out_text, err = proc.communicate(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, (proc.returncode, out_text, err)
        assert "run the same command again to resume" in err
    else:
        assert proc.returncode == -signal.SIGKILL
    assert not out.exists()  # killed before the end: only chunks
    store_rows = sum(pq.read_metadata(p).num_rows for p in Path(str(out) + ".parts").glob("part-*.parquet"))
    assert 4 <= store_rows < 20

    summary = classify_batch(many_videos, out, batch_model_dir, workers=2, progress=False)
    assert summary.skipped == store_rows and summary.processed == 20 - store_rows
    rows = pq.read_table(out).column("path").to_pylist()
    assert sorted(rows) == sorted(resolve_inputs(many_videos))  # every input exactly once
    assert not Path(str(out) + ".parts").exists()
