"""The server's settings: defaults, overridden by `create_app(config)` and by `VIDTYPE_*` environment variables.

Every limit the server enforces is here, so that an operator finds them in one place:

    VIDTYPE_MAX_CONTENT_LENGTH=209715200 VIDTYPE_FETCH_ALLOW='["10.0.0.0/8"]' vidtype serve --model DIR

(environment values are parsed as JSON where they can be, see `flask.Config.from_prefixed_env`).
"""

from __future__ import annotations

MB = 1024 * 1024

DEFAULTS = {
    # The model: a directory (None: the shipped default), the torch device and the backbone runtime.
    "MODEL": None,
    "DEVICE": None,
    "RUNTIME": "auto",
    "TORCH_THREADS": None,  # intra-op threads per worker; None leaves torch's default
    # Bearer token required on /v1/* (None: open). `vidtype serve --token` or VIDTYPE_TOKEN.
    "TOKEN": None,
    # Uploads and videos.
    "MAX_CONTENT_LENGTH": 200 * MB,  # request body; larger uploads get 413
    "MAX_DURATION_S": 4 * 3600.0,  # longest video accepted at all (jobs)
    "SYNC_MAX_DURATION_S": 600.0,  # longest video /v1/classify accepts; longer ones go through /v1/jobs
    "MAX_PIXELS": 4096 * 2304,  # width x height of the largest accepted video
    "DECODE_TIMEOUT_S": 60.0,  # per video (and per timeline)
    "MAX_FRAMES": 64,  # largest `frames` option
    "MIN_TIMELINE_S": 1.0,  # shortest timeline segment
    "SYNC_MAX_SEGMENTS": 120,  # most timeline segments /v1/classify computes; more go through /v1/jobs
    "MAX_SEGMENTS": 2000,  # most timeline segments a job computes
    "THUMBNAIL_SIDE": 160,  # longer side of the thumbnails returned with thumbnails=1
    "TMP_DIR": None,  # where uploads and fetched files are written (None: the system's temporary directory)
    # Concurrency: classifications at once per worker; beyond it 503 with Retry-After.
    "MAX_CONCURRENT": 2,
    "RETRY_AFTER_S": 2,
    # Jobs: a directory shared by all workers of one server, job threads per worker, queue bound, expiry.
    "JOBS_DIR": None,
    "JOB_WORKERS": 1,
    "MAX_QUEUED_JOBS": 16,
    "JOB_TTL_S": 24 * 3600.0,
    # URL fetching.
    "FETCH_ALLOW": [],  # networks ("127.0.0.1", "10.0.0.0/8") allowed although private, loopback or link-local
    "FETCH_CONNECT_TIMEOUT_S": 5.0,
    "FETCH_READ_TIMEOUT_S": 15.0,
    "FETCH_TOTAL_TIMEOUT_S": 120.0,
    "FETCH_MAX_REDIRECTS": 5,
    "FETCH_MAX_BYTES": None,  # None: MAX_CONTENT_LENGTH
    # Live streams (Server-Sent Events).
    "MAX_STREAMS": 2,
    "STREAM_EVERY_S": 2.0,
    "STREAM_WINDOW_S": 8.0,
    "STREAM_FRAMES": 8,
    "STREAM_MAX_S": 3600.0,  # a stream connection ends after this long
}
