"""Running the application under a production WSGI server: gunicorn (POSIX) or waitress (anywhere).

gunicorn: `workers` processes, each builds its own app (and loads the model once) after the fork, with
`threads` threads per worker (the gthread worker, which also keeps Server-Sent Events flowing). waitress: one
process, `workers * threads` threads, one model.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import signal
import sys
import tempfile

from flask import Config

from . import create_app
from .config import DEFAULTS


def default_server() -> str:
    return "gunicorn" if os.name == "posix" and importlib.util.find_spec("gunicorn") else "waitress"


def serve(config: dict, host: str = "127.0.0.1", port: int = 8000, workers: int = 1, threads: int | None = None,
          server: str | None = None) -> None:
    """Serve `create_app(config)` on host:port until interrupted."""
    server = server or default_server()
    settings = Config(".", DEFAULTS)  # what create_app will see, to size the thread pool to the limits
    settings.from_prefixed_env("VIDTYPE")
    settings.update(config)
    # Enough threads that requests beyond the limits get their 503 at once rather than waiting in a queue.
    threads = threads or int(settings["MAX_CONCURRENT"]) + int(settings["MAX_STREAMS"]) + 4
    config = dict(config)
    jobs_dir = None
    if not config.get("JOBS_DIR"):  # shared by the workers, so that any of them can answer for a job
        jobs_dir = config["JOBS_DIR"] = tempfile.mkdtemp(prefix="vidtype-jobs-", dir=config.get("TMP_DIR"))
    if workers > 1 and not config.get("TORCH_THREADS"):
        config["TORCH_THREADS"] = max(1, (os.cpu_count() or 1) // workers)
    try:
        if server == "gunicorn":
            _gunicorn(config, host, port, workers, threads)
        elif server == "waitress":
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
            # SIGTERM (docker stop, systemd) ends the loop like Ctrl-C: in-flight requests finish, tmp files go.
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            wsgi = waitress_server(create_app(config), host, port, workers * threads)
            wsgi.print_listen("vidtype: serving on http://{}:{}")
            wsgi.run()
        else:
            raise ValueError(f"unknown server {server!r}; use gunicorn or waitress")
    finally:
        if jobs_dir:
            shutil.rmtree(jobs_dir, ignore_errors=True)


def waitress_server(app, host: str = "127.0.0.1", port: int = 0, threads: int = 8):
    """A waitress server for `app`, bound and ready to `.run()` (port 0: a free port, see `.effective_port`)."""
    from waitress.server import create_server

    # waitress buffers request bodies itself; its cap sits above Flask's so that Flask answers with the JSON 413.
    body_limit = 2 * int(app.config["MAX_CONTENT_LENGTH"]) + (1 << 20)
    return create_server(app, host=host, port=port, threads=threads, max_request_body_size=body_limit,
                         ident="vidtype", clear_untrusted_proxy_headers=True)


def _gunicorn(config: dict, host: str, port: int, workers: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):
        def load_config(self):
            options = {"bind": f"{host}:{port}", "workers": workers, "threads": threads, "worker_class": "gthread",
                       "timeout": 120, "graceful_timeout": 10, "accesslog": "-", "preload_app": False}
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return create_app(config)  # in each worker, after the fork: one model per worker

    Application().run()
