"""What one worker holds between requests: the model, the metrics, the concurrency slots, the jobs, a tmp dir."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app

from .errors import ApiError
from ..fetch import FetchLimits
from .jobs import JobStore
from .loader import ModelLoader
from .metrics import Metrics

MODEL_WAIT_S = 30.0  # a request that arrives while the model loads waits this long before a 503


@dataclass
class State:
    loader: ModelLoader
    metrics: Metrics
    slots: threading.BoundedSemaphore  # classifications at once
    stream_slots: threading.BoundedSemaphore  # live streams at once
    jobs: JobStore
    tmp_dir: str


def state() -> State:
    return current_app.extensions["vidtype"]


def busy(what: str) -> ApiError:
    retry = str(current_app.config["RETRY_AFTER_S"])
    return ApiError(503, "busy", f"the server is already {what}; retry in {retry} s", {"Retry-After": retry})


def classifier():
    """The loaded `Classifier`, waiting for it while it loads; 503 when it is not there."""
    loader = state().loader
    clf = loader.get(timeout=MODEL_WAIT_S)
    if clf is None:
        message = f"the model failed to load: {loader.error}" if loader.error else "the model is still loading"
        raise ApiError(503, "model_unavailable", message, {"Retry-After": str(current_app.config["RETRY_AFTER_S"])})
    return clf


@contextmanager
def classification_slot(s: State | None = None, blocking: bool = False):
    """Hold one of MAX_CONCURRENT classification slots; without `blocking`, 503 + Retry-After when none is free."""
    s = s or state()
    if not s.slots.acquire(blocking=blocking):
        raise busy(f"classifying as many videos as it may ({current_app.config['MAX_CONCURRENT']})")
    s.metrics.add("classifying", 1)
    try:
        yield
    finally:
        s.metrics.add("classifying", -1)
        s.slots.release()


def fetch_limits(config, stream: bool = False) -> FetchLimits:
    """The URL rules from the config; streams have no size cap and no overall deadline."""
    return FetchLimits(
        max_bytes=None if stream else (config["FETCH_MAX_BYTES"] or config["MAX_CONTENT_LENGTH"]),
        connect_timeout_s=float(config["FETCH_CONNECT_TIMEOUT_S"]),
        read_timeout_s=float(config["FETCH_READ_TIMEOUT_S"]),
        total_timeout_s=None if stream else float(config["FETCH_TOTAL_TIMEOUT_S"]),
        max_redirects=int(config["FETCH_MAX_REDIRECTS"]),
        allow=tuple(config["FETCH_ALLOW"] or ()),
    )
