"""Jobs for long videos: run in a worker thread, their state kept as one JSON file per job.

The state lives in a directory that all workers of one server share, so `GET /v1/jobs/<id>` finds a job
whichever worker ran it. A job that was running when its worker died stays `running` until it expires.

    store = JobStore(directory, workers=1)
    job_id = store.submit(lambda: {"label": ...}, cleanup=lambda: os.remove(tmp))
    store.get(job_id)   # {"id", "state": queued|running|done|failed, "result" | "error", timestamps}
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from ..errors import VidtypeError

log = logging.getLogger(__name__)
JOB_ID = re.compile(r"^[0-9a-f]{32}$")


class QueueFull(Exception):
    pass


class JobStore:
    def __init__(self, directory: str | Path, workers: int = 1, max_queued: int = 16, ttl_s: float = 86400.0):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.max_queued, self.ttl_s = max_queued, ttl_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vidtype-job")
        self._lock = threading.Lock()
        self._pending = 0

    def _write(self, job: dict) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp-")
        with os.fdopen(fd, "w") as f:
            json.dump(job, f)
        os.replace(tmp, self.dir / f"{job['id']}.json")

    def get(self, job_id: str) -> dict | None:
        """The job's state, or None for an unknown (or expired) id."""
        if not JOB_ID.match(job_id):
            return None
        try:
            return json.loads((self.dir / f"{job_id}.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def submit(self, fn: Callable[[], dict], cleanup: Callable[[], None] | None = None) -> str:
        """Queue `fn` (which returns the result dict); `cleanup` runs after it whatever happens."""
        with self._lock:
            if self._pending >= self.max_queued:
                raise QueueFull(f"{self._pending} jobs are already queued")
            self._pending += 1
        self._expire()
        job = {"id": uuid.uuid4().hex, "state": "queued", "created": time.time(), "started": None,
               "finished": None, "result": None, "error": None}
        self._write(job)
        self._pool.submit(self._run, job, fn, cleanup)
        return job["id"]

    def _run(self, job: dict, fn, cleanup) -> None:
        try:
            job.update(state="running", started=time.time())
            self._write(job)
            try:
                job.update(state="done", result=fn())
            except VidtypeError as e:
                job.update(state="failed", error={"code": e.code, "message": str(e)})
            except Exception as e:
                log.exception("job %s failed", job["id"])
                job.update(state="failed", error={"code": "internal_error", "message": f"{type(e).__name__}: {e}"})
            finally:
                if cleanup:  # before the final state: a client that sees "done" finds nothing left behind
                    cleanup()
            job["finished"] = time.time()
            self._write(job)
        finally:
            with self._lock:
                self._pending -= 1

    def _expire(self) -> None:
        cutoff = time.time() - self.ttl_s
        for p in self.dir.glob("*.json"):
            try:
                if p.stat().st_mtime < cutoff:
                    p.unlink()
            except FileNotFoundError:
                pass

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
