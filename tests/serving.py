"""Test helpers for the server, page, live-stream and timeline tests: a tiny real model (conftest's
`tiny_model_dir`), the real WSGI server on loopback, and a local HTTP origin that serves videos, redirects, slow
answers and real-speed live streams.

    with running(create_app({...})) as base:          # waitress in a thread, on a free loopback port
        requests.get(base + "/healthz")
    origin = Origin(directory)                         # http.server in a thread
    origin.url("/files/clip.mp4"), origin.url("/live/clip.ts"), origin.url("/redirect?to=...")
"""

from __future__ import annotations

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from vidtype.model import TemporalConfig, TemporalHead
from vidtype.store import Member, Model, save_model


def make_test_model(path: Path, frames: int = 8) -> Path:
    """A small real model: the efficientnet_lite0 backbone and a randomly initialised temporal head."""
    cfg = TemporalConfig(feature_dim=1280, hidden=32, heads=2)
    model = Model(name="test", version="0", members=[Member("efficientnet_lite0", cfg, TemporalHead(cfg))],
                  frames=frames)
    return save_model(model, path)


@contextlib.contextmanager
def running(app, threads: int = 8):
    """Serve `app` with waitress (the server `vidtype serve --server waitress` runs) on 127.0.0.1:<free port>."""
    from vidtype.server.wsgi import waitress_server

    server = waitress_server(app, "127.0.0.1", 0, threads)
    thread = threading.Thread(target=server.run, name="test-waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        from waitress import wasyncore

        server.task_dispatcher.shutdown(timeout=2)
        # Close the listener and idle keep-alive connections from inside the server's own loop thread.
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map, ignore_all=True))
        thread.join(timeout=5)


def wait_ready(app, timeout: float = 120.0) -> None:
    """Block until the app's model is loaded (the first load builds the backbone)."""
    clf = app.extensions["vidtype"].loader.get(timeout)
    assert clf is not None, app.extensions["vidtype"].loader.error


class Origin:
    """A local HTTP origin on 127.0.0.1 for fetch and stream tests.

    /files/NAME         the file, with Content-Length
    /chunked/NAME       the file, chunked (no Content-Length)
    /live/NAME?seconds= the file, chunked and paced so that it lasts `seconds` (real speed)
    /redirect?to=URL    302 to URL;  /loop/N  redirects forever
    /silent             headers, then nothing for 30 s;  /status/CODE  that status
    /playlist.m3u8      an HLS playlist
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.requests: list[str] = []
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                origin.requests.append(self.path)
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                kind, _, rest = parts.path.lstrip("/").partition("/")
                try:
                    getattr(self, f"_{kind.replace('.', '_')}", self._missing)(rest, query)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _missing(self, rest, query):
                self._send(404, b"not found")

            def _send(self, status, body: bytes, ctype="application/octet-stream", headers=()):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _chunks(self, chunks, ctype="video/mp2t"):
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for c in chunks:
                    if c:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
                        self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

            def _files(self, rest, query):
                self._send(200, (origin.directory / rest).read_bytes(), "video/mp4")

            def _chunked(self, rest, query):
                data = (origin.directory / rest).read_bytes()
                self._chunks(data[i:i + 16384] for i in range(0, len(data), 16384))

            def _live(self, rest, query):
                data = (origin.directory / rest).read_bytes()
                seconds, tick = float(query.get("seconds", 5)), 0.05
                step = max(188, int(len(data) * tick / seconds))
                start = time.monotonic()

                def paced():
                    for k, i in enumerate(range(0, len(data), step)):
                        delay = start + k * tick - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                        yield data[i:i + step]

                self._chunks(paced())

            def _redirect(self, rest, query):
                self._send(302, b"", headers=[("Location", query["to"])])

            def _loop(self, rest, query):
                self._send(302, b"", headers=[("Location", f"/loop/{int(rest or 0) + 1}")])

            def _silent(self, rest, query):
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                self.wfile.flush()
                time.sleep(float(query.get("seconds", 30)))

            def _status(self, rest, query):
                self._send(int(rest), b"error")

            def _playlist_m3u8(self, rest, query):
                self._send(200, b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n/files/a.ts\n",
                           "application/vnd.apple.mpegurl")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="test-origin", daemon=True)
        self._thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
