"""Result rows, atomic Parquet chunks, resume bookkeeping and the final merge."""

import json

import pyarrow.parquet as pq
import pytest

from vidtype.batch.results import ResultsLocked, ResultStore, flatten
from vidtype.errors import NotAVideoError
from vidtype.pipeline import FrameRecord, Prediction, error_record


def prediction(path: str, label: str = "gaming") -> dict:
    probs = {"animation": 0.1, "gaming": 0.7, "natural": 0.1, "flat": 0.1}
    return Prediction(path, label, 0.7, probs, 0.9, [FrameRecord(0.5, 1.0), FrameRecord(0.9, None, "black")],
                      {"decode": 10.0, "features": 5.0, "head": 1.0, "total": 16.0}, {"name": "m", "version": "1"},
                      {"duration_s": 2.0, "width": 96, "height": 64, "fps": 12.0, "codec": "h264",
                       "rotation": 0}).to_dict()


def test_flatten_prediction_and_error():
    row = flatten(prediction("/v/a.mp4"))
    assert row["label"] == "gaming" and row["prob_gaming"] == 0.7 and row["error"] is None
    assert row["timing_total_ms"] == 16.0 and row["model_version"] == "1" and row["video_width"] == 96
    assert json.loads(row["frames"])[1] == {"time_s": 0.9, "attention": None, "rejected": "black"}
    err = flatten(error_record("/v/b.mp4", NotAVideoError("b.mp4 is empty")))
    assert err == {"path": "/v/b.mp4", "error": "b.mp4 is empty", "error_code": "not_a_video"}


def test_chunks_are_written_whole_and_counted_as_done(tmp_path):
    store = ResultStore(tmp_path / "r.parquet")
    with store:
        store.write([flatten(prediction("a")), flatten(error_record("b", NotAVideoError("bad")))])
        store.write([flatten(error_record("c", ValueError("boom")))])  # a chunk of errors only
        assert store.write([]) is None
        assert [p.name for p in store.parts()] == ["part-00001.parquet", "part-00002.parquet"]
        assert not list(store.parts_dir.glob(".tmp-*"))
        assert store.done() == {"a", "b", "c"}
        assert store.done(include_errors=False) == {"a"}
        table = pq.read_table(store.parts()[0])
        assert table.column_names[:8] == ["path", "label", "confidence", "trust", "prob_animation", "prob_gaming",
                                          "prob_natural", "prob_flat"]


def test_merge_one_row_per_path_latest_wins_in_input_order(tmp_path):
    store = ResultStore(tmp_path / "r.parquet")
    with store:
        store.write([flatten(error_record("b", NotAVideoError("timeout"))), flatten(prediction("old"))])
        store.write([flatten(prediction("a")), flatten(prediction("b", "natural"))])  # b retried
        assert store.merge(order=["a", "b", "c"]) == 3
    assert not store.parts_dir.exists()
    rows = pq.read_table(store.out).to_pylist()
    assert [r["path"] for r in rows] == ["a", "b", "old"]  # inputs' order, then rows of earlier inputs
    assert rows[1]["label"] == "natural" and rows[1]["error"] is None
    # a later run adds rows: they are merged with the existing file
    with store:
        assert store.done() == {"a", "b", "old"}
        store.write([flatten(prediction("c"))])
        store.merge(order=["a", "b", "c"])
    assert [r["path"] for r in pq.read_table(store.out).to_pylist()] == ["a", "b", "c", "old"]


def test_crash_after_merge_before_cleanup_counts_nothing_twice(tmp_path):
    store = ResultStore(tmp_path / "r.parquet")
    with store:
        store.write([flatten(prediction("a")), flatten(prediction("b"))])
        merged = pq.read_table(store.parts()[0])
    pq.write_table(merged, store.out)  # as if the merge had renamed its file and then died: the chunk remains
    with store:
        assert store.done() == {"a", "b"}
        assert store.merge(order=["a", "b"]) == 2
    assert pq.read_table(store.out).num_rows == 2


def test_one_run_at_a_time(tmp_path):
    with ResultStore(tmp_path / "r.parquet"):
        with pytest.raises(ResultsLocked, match="another batch run"):
            with ResultStore(tmp_path / "r.parquet"):
                pass
    with ResultStore(tmp_path / "r.parquet"):  # released
        pass


def test_leftover_temporary_files_are_removed(tmp_path):
    store = ResultStore(tmp_path / "r.parquet")
    store.parts_dir.mkdir()
    (store.parts_dir / ".tmp-part-x").write_bytes(b"half a file")
    (tmp_path / ".tmp-r.parquet-abc").write_bytes(b"half a merge")
    with store:
        assert not list(store.parts_dir.glob(".tmp-*")) and not list(tmp_path.glob(".tmp-*"))
