"""The inference server: a Flask application factory, one blueprint per concern.

    from vidtype.server import create_app
    app = create_app({"MODEL": "models/v1", "TOKEN": "secret"})   # any WSGI server can run `app`

`vidtype serve` runs it under gunicorn (or waitress), see wsgi.py. Routes:
  GET  /                  the web page                    (page.py)
  POST /v1/classify       classify an upload or a URL     (api.py)
  POST /v1/jobs           ... as a job; GET /v1/jobs/<id>
  GET  /v1/model          the loaded model
  GET  /v1/stream?src=    a live stream's rolling label as Server-Sent Events (stream.py)
  GET  /healthz /readyz /metrics                          (health.py)
  GET  /openapi.json                                      (openapi.py)
"""

from __future__ import annotations

import atexit
import ipaddress
import logging
import re
import shutil
import threading
import time
import uuid
from pathlib import Path

from flask import Flask, g, request

from . import api, errors, health, openapi, page, stream
from .config import DEFAULTS
from .inputs import make_tmp_dir
from .jobs import JobStore
from .loader import ModelLoader
from .metrics import Metrics
from .state import State

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def create_app(config: dict | None = None) -> Flask:
    """Build the application: settings (DEFAULTS < VIDTYPE_* environment < `config`), state, blueprints.

    The model starts loading in a background thread at once; /readyz says when it is there.
    """
    app = Flask(__name__)
    app.json.sort_keys = False  # keep the field order of `vidtype predict --json`
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("VIDTYPE")
    app.config.from_mapping(config or {})
    if app.config["TOKEN"] is not None:
        app.config["TOKEN"] = str(app.config["TOKEN"])  # VIDTYPE_TOKEN=1234 parses as a number

    for network in app.config["FETCH_ALLOW"] or ():
        ipaddress.ip_network(network, strict=False)  # a typo in the allow-list fails here, not silently later
    tmp_dir = make_tmp_dir(app.config["TMP_DIR"])
    atexit.register(shutil.rmtree, tmp_dir, ignore_errors=True)
    jobs_dir = app.config["JOBS_DIR"] or str(Path(tmp_dir) / "jobs")
    app.extensions["vidtype"] = State(
        loader=ModelLoader(app.config["MODEL"], app.config["DEVICE"], app.config["RUNTIME"],
                           app.config["TORCH_THREADS"]),
        metrics=Metrics(),
        slots=threading.BoundedSemaphore(int(app.config["MAX_CONCURRENT"])),
        stream_slots=threading.BoundedSemaphore(int(app.config["MAX_STREAMS"])),
        jobs=JobStore(jobs_dir, workers=int(app.config["JOB_WORKERS"]), max_queued=int(app.config["MAX_QUEUED_JOBS"]),
                      ttl_s=float(app.config["JOB_TTL_S"])),
        tmp_dir=tmp_dir,
    )
    _install_hooks(app)
    errors.register(app)
    for module in (page, api, stream, health, openapi):
        app.register_blueprint(module.bp)
    logging.getLogger("vidtype").setLevel(logging.INFO)
    return app


def _install_hooks(app: Flask) -> None:
    """A request id on every request and response; metrics for every request."""
    metrics: Metrics = app.extensions["vidtype"].metrics

    @app.before_request
    def _start():
        sent = request.headers.get("X-Request-Id", "")
        g.request_id = sent if REQUEST_ID.match(sent) else uuid.uuid4().hex
        g.started = time.perf_counter()
        metrics.request_started()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        if "started" in g:
            route = request.url_rule.rule if request.url_rule else "<unmatched>"
            metrics.request_finished(request.method, route, response.status_code, time.perf_counter() - g.started)
            del g.started  # count once, even if another handler runs after this one
        return response
