"""Liveness, readiness and Prometheus metrics (the Triton / BentoML conventions: /healthz, /readyz, /metrics)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .state import state

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is alive and serving requests."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """200 once the model is loaded; 503 while it loads or when it failed to load."""
    loader = state().loader
    if loader.ready:
        return jsonify({"status": "ready", "model": loader.get(0).model.describe()})
    if loader.error:
        return jsonify({"status": "failed", "error": loader.error}), 503
    return jsonify({"status": "loading"}), 503


@bp.get("/metrics")
def metrics():
    """Prometheus text format: requests by status, latency, videos and frames classified, in-flight requests."""
    s = state()
    return Response(s.metrics.render(s.loader.ready), mimetype="text/plain; version=0.0.4; charset=utf-8")
