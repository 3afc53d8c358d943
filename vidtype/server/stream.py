"""Live streams as Server-Sent Events: `GET /v1/stream?src=URL` sends a rolling label every few seconds.

The server fetches the stream itself through the URL rules of fetch.py (http and https, public addresses or the
allow-list, every redirect checked) and hands the bytes to `vidtype.live.watch`; FFmpeg never opens a URL here.
Progressive streams work (MPEG-TS, fragmented MP4, Matroska/WebM, FLV); HLS playlists are refused, because their
segment URLs would be fetched past those rules.

Events: `update` (an `Update` as JSON), `error` ({"code", "message"}) and `end`.
"""

from __future__ import annotations

import json
import threading

from flask import Blueprint, Response, current_app, request

from ..errors import VidtypeError
from ..live import watch
from .api import require_token
from .errors import ApiError
from ..fetch import check_url, open_url
from .inputs import number
from .state import busy, classifier, fetch_limits, state

bp = Blueprint("stream", __name__, url_prefix="/v1")
bp.before_request(require_token)

HLS_TYPES = ("application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl")


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


class _Peeked:
    """A response whose first bytes were read to recognise it, put back in front of the rest."""

    def __init__(self, head: bytes, resp):
        self._head, self._resp = head, resp

    def read(self, n: int = 65536) -> bytes:
        if self._head:
            out, self._head = self._head[:n], self._head[n:]
            return out
        return self._resp.read(n)


@bp.get("/stream")
def stream():
    """Watch the stream at `src` and send its rolling label as Server-Sent Events."""
    config, s = current_app.config, state()
    src = request.args.get("src", "").strip()
    if not src:
        raise ApiError(400, "no_video", "give the stream's URL as ?src=https://...")
    every = number("every", request.args.get("every", config["STREAM_EVERY_S"]), float, 0.5, 60)
    window = number("window", request.args.get("window", config["STREAM_WINDOW_S"]), float, 1, 120)
    frames = number("frames", request.args.get("frames", config["STREAM_FRAMES"]), int, 1, config["MAX_FRAMES"])
    limits = fetch_limits(config, stream=True)
    check_url(src, limits.allow)  # refuse before taking a slot
    clf = classifier()
    if not s.stream_slots.acquire(blocking=False):
        raise busy(f"watching as many streams as it may ({config['MAX_STREAMS']})")
    s.metrics.add("streams", 1)
    stop = threading.Event()
    resp = None

    def release() -> None:
        stop.set()
        if resp is not None:
            resp.close()
        s.metrics.add("streams", -1)
        s.stream_slots.release()

    try:
        resp = open_url(src, limits)
        head = resp.read(4096)
        if head.lstrip().startswith(b"#EXTM3U") or resp.content_type.split(";")[0].strip().lower() in HLS_TYPES:
            raise ApiError(415, "unsupported_stream", "HLS playlists are not watched by the server (their segment "
                                                      "URLs escape its URL checks); send a progressive stream "
                                                      "(MPEG-TS, fragmented MP4, WebM) or use `vidtype watch`")
    except BaseException:
        release()
        raise
    source = _Peeked(head, resp)
    max_s = float(config["STREAM_MAX_S"])

    def events():
        yield "retry: 5000\n\n"
        try:
            for update in watch(source, clf, every=every, window=window, frames=frames, realtime=False,
                                max_s=max_s, read_timeout_s=limits.read_timeout_s, stop=stop):
                s.metrics.add("stream_updates", 1)
                yield sse("update", update.to_dict())
            yield sse("end", {})
        except VidtypeError as e:
            yield sse("error", {"code": e.code, "message": str(e)})

    response = Response(events(), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    response.call_on_close(release)
    return response
