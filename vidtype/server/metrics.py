"""Prometheus metrics, hand-written: a few counters, gauges and one histogram, rendered as the text format.

One `Metrics` per worker process (each gunicorn worker reports its own numbers; Prometheus sums them when it
scrapes the workers behind one address over time, or run one worker per container).
"""

from __future__ import annotations

import threading
from collections import defaultdict

BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


def _labels(**kv) -> str:
    def esc(v) -> str:
        return str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in kv.items()) + "}" if kv else ""


def _num(x: float) -> str:
    return "+Inf" if x == float("inf") else repr(float(x)) if isinstance(x, float) else str(x)


class Metrics:
    """Thread-safe request and classification counters."""

    def __init__(self, buckets: tuple[float, ...] = BUCKETS):
        self._lock = threading.Lock()
        self.buckets = buckets
        self.requests = defaultdict(int)  # (method, route, status) -> count
        self.latency = {}  # route -> [per-bucket counts..., sum, count]
        self.in_flight = 0
        self.classifying = 0
        self.streams = 0
        self.videos = defaultdict(int)  # outcome ("ok" / error code) -> count
        self.frames = 0
        self.stream_updates = 0

    def request_started(self) -> None:
        with self._lock:
            self.in_flight += 1

    def request_finished(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.in_flight -= 1
            self.requests[(method, route, str(status))] += 1
            h = self.latency.setdefault(route, [0] * len(self.buckets) + [0.0, 0])
            for i, b in enumerate(self.buckets):
                if seconds <= b:
                    h[i] += 1
            h[-2] += seconds
            h[-1] += 1

    def add(self, name: str, delta: int = 1) -> None:
        """Move a gauge (`classifying`, `streams`) or counter (`frames`, `stream_updates`) by `delta`."""
        with self._lock:
            setattr(self, name, getattr(self, name) + delta)

    def video_done(self, outcome: str, frames: int = 0) -> None:
        with self._lock:
            self.videos[outcome] += 1
            self.frames += frames

    def render(self, ready: bool) -> str:
        """The Prometheus text exposition (version 0.0.4)."""
        out = []

        def family(name: str, kind: str, help_: str, samples: list[tuple[str, dict, float]]) -> None:
            out.append(f"# HELP {name} {help_}")
            out.append(f"# TYPE {name} {kind}")
            out.extend(f"{n}{_labels(**lb)} {_num(v)}" for n, lb, v in samples)

        with self._lock:
            family("vidtype_http_requests_total", "counter", "HTTP requests by method, route and status.",
                   [("vidtype_http_requests_total", {"method": m, "route": r, "status": s}, n)
                    for (m, r, s), n in sorted(self.requests.items())])
            hist = []
            for route, h in sorted(self.latency.items()):
                for b, n in zip(self.buckets, h):
                    hist.append(("vidtype_http_request_duration_seconds_bucket", {"route": route, "le": _num(b)}, n))
                hist.append(("vidtype_http_request_duration_seconds_bucket", {"route": route, "le": "+Inf"}, h[-1]))
                hist.append(("vidtype_http_request_duration_seconds_sum", {"route": route}, round(h[-2], 6)))
                hist.append(("vidtype_http_request_duration_seconds_count", {"route": route}, h[-1]))
            family("vidtype_http_request_duration_seconds", "histogram", "Request latency by route.", hist)
            family("vidtype_http_requests_in_flight", "gauge", "Requests being served now.",
                   [("vidtype_http_requests_in_flight", {}, self.in_flight)])
            family("vidtype_classifications_in_flight", "gauge", "Videos being classified now.",
                   [("vidtype_classifications_in_flight", {}, self.classifying)])
            family("vidtype_streams_open", "gauge", "Live streams being watched now.",
                   [("vidtype_streams_open", {}, self.streams)])
            family("vidtype_videos_classified_total", "counter", "Videos classified, by outcome (ok or error code).",
                   [("vidtype_videos_classified_total", {"outcome": k}, n) for k, n in sorted(self.videos.items())])
            family("vidtype_frames_classified_total", "counter", "Frames passed through the model.",
                   [("vidtype_frames_classified_total", {}, self.frames)])
            family("vidtype_stream_updates_total", "counter", "Rolling labels sent on live streams.",
                   [("vidtype_stream_updates_total", {}, self.stream_updates)])
            family("vidtype_model_ready", "gauge", "1 once the model is loaded.",
                   [("vidtype_model_ready", {}, int(ready))])
        return "\n".join(out) + "\n"
