"""Where a batch run writes: result rows in atomic Parquet chunks, merged into one file at the end.

    store = ResultStore("results.parquet")
    todo = [p for p in inputs if p not in store.done()]     # what earlier (maybe killed) runs finished
    store.write([flatten(pred.to_dict()), flatten(error_record(path, e))])   # -> results.parquet.parts/part-00001
    store.merge(order=inputs)                               # -> results.parquet, parts removed

A chunk is written to a temporary name and renamed, so a crash leaves whole chunks or none. `done()` is the set
of paths in the merged file and in every chunk; `merge` keeps one row per path (the latest), so a video is never
counted twice even if a run dies between writing the merged file and removing the chunks. One run at a time
writes to a store (a lock file says so).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import VidtypeError

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError as e:  # pragma: no cover - the train/ray extras bring it
    raise VidtypeError("batch results are Parquet files: pip install pyarrow (or vidtype[train])") from e

# Fixed columns of a result row (prob_<class> columns follow the model's classes).
SCHEMA = pa.schema([
    ("path", pa.string()), ("label", pa.string()), ("confidence", pa.float64()), ("trust", pa.float64()),
    ("frames", pa.string()), ("timing_decode_ms", pa.float64()), ("timing_features_ms", pa.float64()),
    ("timing_head_ms", pa.float64()), ("timing_total_ms", pa.float64()), ("model_name", pa.string()),
    ("model_version", pa.string()), ("video_duration_s", pa.float64()), ("video_width", pa.int64()),
    ("video_height", pa.int64()), ("video_fps", pa.float64()), ("video_codec", pa.string()),
    ("video_rotation", pa.int64()), ("error", pa.string()), ("error_code", pa.string()),
])


class ResultsLocked(VidtypeError):
    code = "results_locked"


def flatten(record: dict) -> dict:
    """`Prediction.to_dict()` or `pipeline.error_record(...)` -> one flat row (frames as a JSON string)."""
    row = {"path": record["path"], "error": record.get("error"), "error_code": record.get("error_code")}
    if "label" in record:
        row.update(label=record["label"], confidence=record["confidence"], trust=record["trust"],
                   frames=json.dumps(record["frames"]))
        row.update({f"prob_{c}": p for c, p in record["probabilities"].items()})
        row.update({f"timing_{k}_ms": v for k, v in record.get("timings_ms", {}).items()})
        row.update({f"model_{k}": v for k, v in record.get("model", {}).items()})
        row.update({f"video_{k}": v for k, v in record.get("video", {}).items()})
    return row


def to_table(rows: list[dict]) -> pa.Table:
    """Rows -> a table with SCHEMA's columns plus the prob_<class> columns that appear in them."""
    probs = list(dict.fromkeys(k for r in rows for k in r if k.startswith("prob_")))  # class order
    fields = list(SCHEMA)
    at = SCHEMA.get_field_index("frames")
    schema = pa.schema(fields[:at] + [pa.field(p, pa.float64()) for p in probs] + fields[at:])
    return pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in rows], schema=schema)


class ResultStore:
    """RESULTS.parquet and its chunk folder RESULTS.parquet.parts/ (see the module docstring)."""

    def __init__(self, out: str | Path):
        self.out = Path(out).expanduser().absolute()
        self.parts_dir = self.out.with_name(self.out.name + ".parts")
        self._lock = None

    # ---- a lock held for the length of a run ----------------------------------------------------------------
    def __enter__(self) -> "ResultStore":
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.parts_dir / ".lock", "w")
        try:
            import fcntl

            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - not POSIX: no lock
            pass
        except OSError as e:
            self._lock.close()
            self._lock = None
            raise ResultsLocked(f"another batch run is writing to {self.out}") from e
        for tmp in [*self.parts_dir.glob(".tmp-*"), *self.out.parent.glob(f".tmp-{self.out.name}-*")]:
            tmp.unlink(missing_ok=True)  # left by a killed run
        return self

    def __exit__(self, *exc) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None
            if not self.parts():  # all merged: the chunk folder goes
                shutil.rmtree(self.parts_dir, ignore_errors=True)

    # ---- reading ----------------------------------------------------------------------------------------------
    def parts(self) -> list[Path]:
        """The chunk files, oldest first."""
        return sorted(self.parts_dir.glob("part-*.parquet")) if self.parts_dir.is_dir() else []

    def done(self, include_errors: bool = True) -> set[str]:
        """Paths that already have a row (in the merged file or a chunk); without errors if asked."""
        files = ([self.out] if self.out.is_file() else []) + self.parts()
        done: set[str] = set()
        for f in files:
            t = pq.read_table(f, columns=["path", "error_code"])
            paths, codes = t.column("path").to_pylist(), t.column("error_code").to_pylist()
            for p, code in zip(paths, codes):  # later files win: a retried error becomes a result
                if include_errors or code is None:
                    done.add(p)
                else:
                    done.discard(p)
        return done

    # ---- writing ----------------------------------------------------------------------------------------------
    def write(self, rows: list[dict]) -> Path | None:
        """Write flat rows as the next chunk, atomically; return its path (None for no rows)."""
        if not rows:
            return None
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        existing = self.parts()
        number = int(existing[-1].stem.split("-")[1]) + 1 if existing else 1
        path = self.parts_dir / f"part-{number:05d}.parquet"
        _atomic_write(to_table(rows), path)
        return path

    def merge(self, order: list[str] | None = None) -> int:
        """Fold the merged file and the chunks into RESULTS.parquet (one row per path, the latest) and remove the
        chunks. Rows whose path is in `order` come first, in that order. Returns the number of rows."""
        parts = self.parts()
        sources = ([self.out] if self.out.is_file() else []) + parts
        if not sources:
            return 0
        if not parts:
            return pq.read_metadata(self.out).num_rows
        table = pa.concat_tables([pq.read_table(f) for f in sources], promote_options="default")
        paths = table.column("path").to_pylist()
        latest = {p: i for i, p in enumerate(paths)}  # last occurrence of each path
        rank = {p: i for i, p in enumerate(order or [])}
        keep = sorted(latest.values(), key=lambda i: (rank.get(paths[i], len(rank)), i))
        _atomic_write(table.take(pa.array(keep, pa.int64())), self.out)
        for p in parts:
            p.unlink()
        return len(keep)


def _atomic_write(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".tmp-{path.name}-")
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
