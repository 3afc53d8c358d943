"""Live streams: `vidtype.live.watch` on real-speed streams (HTTP chunked MPEG-TS, a pipe, a file), the
`vidtype watch` command, and the server's Server-Sent Events at /v1/stream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from serving import running, wait_ready
from videos import make_video, marker_corner

from vidtype import classifier
from vidtype.decode import Frame
from vidtype.errors import DecodeError
from vidtype.live import FrameRing, StreamReader, watch
from vidtype.store import CLASSES

SECONDS = 5.0
MAX_LATENCY_S = 2.0


@pytest.fixture(scope="module")
def ts_clip(origin):
    return make_video(origin.directory / "clip.ts", seconds=SECONDS, size=(640, 360), fps=25, gop=25)


@pytest.fixture(scope="module")
def clf(tiny_model_dir):
    return classifier(tiny_model_dir)


def check_updates(updates: list[dict], every: float, lags: list[float] | None = None) -> None:
    """Rolling labels: several, in stream order, each well under the latency bound, spread through the stream."""
    assert len(updates) >= int(SECONDS / every) - 2, updates
    times = [u["time_s"] for u in updates]
    assert times == sorted(times) and times[-1] >= SECONDS - 1.0
    for u in updates:
        assert u["label"] in CLASSES or u["label"] == "unknown"
        assert set(u["probabilities"]) == set(CLASSES) and 0 <= u["trust"] <= 1 and u["frames"] >= 1
        assert 0 <= u["latency_s"] < MAX_LATENCY_S, u
    for lag in lags or []:  # wall time since the stream started, minus the stream time the update covers
        assert lag < MAX_LATENCY_S + 1.0, lags


def test_frame_ring_keeps_a_few_frames_per_second_of_the_last_window():
    ring = FrameRing(window_s=3.0, fps=4.0)
    image = np.zeros((8, 8, 3), np.uint8)
    for i in range(250):  # 10 s at 25 fps
        t = i / 25
        if ring.wants(t):
            ring.push(Frame(t, image, False), arrived=t)
    items, count = ring.snapshot()
    times = [f.time_s for f, _ in items]
    assert 38 <= count <= 42  # about 4 per second
    assert times[-1] - times[0] <= 3.0 and len(times) in (12, 13)
    ring.push(Frame(0.0, image, False), arrived=11.0)  # timestamps restart: a new stream, a fresh window
    assert len(ring.snapshot()[0]) == 1


def test_watch_an_http_stream_at_real_speed(clf, ts_clip, origin):
    t0 = time.monotonic()
    updates, lags = [], []
    for u in watch(origin.url(f"/live/clip.ts?seconds={SECONDS}"), clf, every=1.0, window=3.0, frames=6):
        updates.append(u.to_dict())
        lags.append(time.monotonic() - t0 - u.time_s)
    check_updates(updates, every=1.0, lags=lags)


def test_watch_a_pipe(clf, ts_clip):
    read_fd, write_fd = os.pipe()
    data = ts_clip.read_bytes()

    def feed():  # real speed: SECONDS of video spread over SECONDS of wall time
        step = len(data) // 60
        with os.fdopen(write_fd, "wb") as w:
            for i in range(0, len(data), step):
                w.write(data[i:i + step])
                w.flush()
                time.sleep(SECONDS / 60)

    threading.Thread(target=feed, daemon=True).start()
    with os.fdopen(read_fd, "rb") as r:
        updates = [u.to_dict() for u in watch(r, clf, every=1.5, window=3.0, frames=4)]
    check_updates(updates, every=1.5)


def test_watch_plays_a_file_at_real_speed(clf, tmp_path):
    path = make_video(tmp_path / "short.mp4", seconds=3, size=(320, 240))
    t0 = time.monotonic()
    updates = list(watch(path, clf, every=1.0, window=2.0, frames=4))
    assert time.monotonic() - t0 >= 2.5  # paced, not decoded as fast as possible
    assert [u.time_s for u in updates] == sorted(u.time_s for u in updates) and len(updates) >= 2


def test_stream_reader_turns_rotated_video_upright(tmp_path):
    path = make_video(tmp_path / "phone.mp4", seconds=1, size=(320, 240), rotation=90)
    ring = FrameRing(window_s=5.0, fps=4.0)
    reader = StreamReader(path, ring, realtime=False)
    reader.run()
    frame = ring.snapshot()[0][0][0]
    assert reader.error is None and reader.info.rotation == 90
    assert (reader.info.width, reader.info.height) == (240, 320) and frame.image.shape[:2] == (320, 240)
    assert marker_corner(frame.image) == "tr"  # the stored top-left corner, turned 90 degrees clockwise


def test_watch_reports_a_source_that_is_not_a_video(clf, tmp_path):
    bad = tmp_path / "bad.ts"
    bad.write_bytes(os.urandom(50_000))
    with pytest.raises(DecodeError):
        list(watch(bad, clf, every=0.5, realtime=False))


@pytest.mark.slow
def test_vidtype_watch_command_on_a_pipe(tiny_model_dir, ts_clip):
    proc = subprocess.Popen([sys.executable, "-m", "vidtype.cli", "watch", "-", "--json", "--every", "1",
                             "--window", "3", "--frames", "4", "--model", str(tiny_model_dir)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    data = ts_clip.read_bytes()
    lines, arrivals = [], []

    def read():
        for line in proc.stdout:
            lines.append(json.loads(line))
            arrivals.append(time.monotonic())

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(3)  # let the command load the model before the stream starts
    t0 = time.monotonic()
    step = len(data) // 60
    for i in range(0, len(data), step):
        proc.stdin.write(data[i:i + step])
        proc.stdin.flush()
        time.sleep(SECONDS / 60)
    proc.stdin.close()
    assert proc.wait(timeout=60) == 0, proc.stderr.read().decode()
    reader.join()
    check_updates(lines, every=1.0, lags=[a - t0 - u["time_s"] for a, u in zip(arrivals, lines)])


# ------------------------------------------------------------------------------------------------ /v1/stream

def read_events(resp) -> list[tuple[str, dict, float]]:
    """(event, data, arrival time) of each Server-Sent Event."""
    events, event, data = [], None, ""
    for line in resp.iter_lines(decode_unicode=True):
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif line == "" and event:
            events.append((event, json.loads(data), time.monotonic()))
            event, data = None, ""
    return events


@pytest.fixture(scope="module")
def stream_server(tiny_model_dir, tmp_path_factory):
    from vidtype.server import create_app

    app = create_app({"MODEL": str(tiny_model_dir), "TMP_DIR": str(tmp_path_factory.mktemp("tmp")),
                      "FETCH_ALLOW": ["127.0.0.1"], "MAX_STREAMS": 1})
    wait_ready(app)
    with running(app) as base:
        yield base


def test_stream_endpoint_sends_rolling_labels_in_time(stream_server, ts_clip, origin):
    requests = pytest.importorskip("requests")
    src = origin.url(f"/live/clip.ts?seconds={SECONDS}")
    t0 = time.monotonic()
    with requests.get(stream_server + "/v1/stream", params={"src": src, "every": 1, "window": 3, "frames": 4},
                      stream=True, timeout=30) as resp:
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
        events = read_events(resp)
    assert events[-1][0] == "end"
    updates = [(d, at) for e, d, at in events if e == "update"]
    check_updates([d for d, _ in updates], every=1.0, lags=[at - t0 - d["time_s"] for d, at in updates])
    metrics = requests.get(stream_server + "/metrics").text
    assert f"vidtype_stream_updates_total {len(updates)}" in metrics and "vidtype_streams_open 0" in metrics


def test_stream_endpoint_applies_the_url_rules_and_limits(stream_server, ts_clip, origin):
    requests = pytest.importorskip("requests")
    fast = {"every": 0.5}  # a stream the client closed frees its slot at the server's next write
    with requests.get(stream_server + "/v1/stream", params={"src": origin.url("/live/clip.ts", host="localhost"),
                                                            **fast}, stream=True, timeout=30) as resp:
        if resp.status_code != 200:  # localhost may resolve to ::1 as well, which the allow-list does not permit
            assert resp.status_code == 403 and resp.json()["error"]["code"] == "url_refused"
    wait_for_free_stream_slot(stream_server)
    resp = requests.get(stream_server + "/v1/stream", params={"src": "http://169.254.169.254/stream.ts"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "url_refused"
    resp = requests.get(stream_server + "/v1/stream", params={"src": "rtsp://example.com/live"})
    assert resp.status_code == 403 and "only http and https" in resp.json()["error"]["message"]
    resp = requests.get(stream_server + "/v1/stream", params={"src": origin.url("/playlist.m3u8")})
    assert resp.status_code == 415 and resp.json()["error"]["code"] == "unsupported_stream"
    resp = requests.get(stream_server + "/v1/stream")
    assert resp.status_code == 400

    # MAX_STREAMS=1: a second stream while one is open is refused with Retry-After; a closed one frees the slot
    src = origin.url("/live/clip.ts?seconds=5")
    with requests.get(stream_server + "/v1/stream", params={"src": src, **fast}, stream=True, timeout=30) as first:
        assert first.status_code == 200
        second = requests.get(stream_server + "/v1/stream", params={"src": src})
        assert second.status_code == 503 and second.headers["Retry-After"]
    wait_for_free_stream_slot(stream_server)


def wait_for_free_stream_slot(base: str) -> None:
    """A stream the client closed gives its slot back once the server's next write fails."""
    requests = pytest.importorskip("requests")
    deadline = time.monotonic() + 10
    while "vidtype_streams_open 0" not in requests.get(base + "/metrics").text:
        assert time.monotonic() < deadline, "the closed stream kept its slot"
        time.sleep(0.2)
