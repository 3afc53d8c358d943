"""The inference server over real HTTP: waitress on loopback, a tiny real model, videos from tests/videos.py.

Every route, limit and refusal of the server is exercised here; URL fetching goes to a local origin
(http.server in a thread) that loopback rules refuse unless the allow-list permits 127.0.0.1.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

requests = pytest.importorskip("requests")
pytest.importorskip("flask")
pytest.importorskip("waitress")

from serving import running, wait_ready  # noqa: E402
from videos import make_random_bytes, make_video  # noqa: E402

from vidtype.server import create_app  # noqa: E402
from vidtype.store import CLASSES  # noqa: E402

LOOPBACK = ["127.0.0.1/32"]
PREDICTION_KEYS = {"path", "label", "confidence", "probabilities", "trust", "frames", "timings_ms", "model", "video"}


@pytest.fixture(scope="module")
def clips(origin):
    d = origin.directory
    return {
        "clip": make_video(d / "clip.mp4", seconds=2, size=(320, 240)),
        "black": make_video(d / "black.mp4", seconds=3, size=(320, 240), black_spans=[(1.0, 2.0)]),
        "long": make_video(d / "long.mp4", seconds=4, size=(160, 120), fps=10),
        "noise": make_random_bytes(d / "noise.mp4"),
    }


@pytest.fixture(scope="module")
def start(tiny_model_dir, tmp_path_factory):
    """start(**config) -> base URL of a running server (stopped at the end of the module)."""
    with contextlib.ExitStack() as stack:
        def _start(**config):
            tmp = tmp_path_factory.mktemp("server-tmp")
            app = create_app({"MODEL": str(tiny_model_dir), "TMP_DIR": str(tmp), **config})
            wait_ready(app)
            base = stack.enter_context(running(app))
            base_app[base] = app
            return base

        base_app: dict = {}
        _start.app = base_app
        yield _start


@pytest.fixture(scope="module")
def base(start):
    return start(FETCH_ALLOW=LOOPBACK)


@pytest.fixture(scope="module")
def strict(start):
    """A server with the default URL rules: no private destinations at all."""
    return start()


def tmp_files(start, base) -> list[str]:
    """Files left in a server's temporary directory (the jobs' state directory aside)."""
    root = Path(start.app[base].extensions["vidtype"].tmp_dir)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "jobs" not in p.parts)


def classify(base, path, **data):
    with open(path, "rb") as f:
        return requests.post(base + "/v1/classify", files={"file": (Path(path).name, f)}, data=data, timeout=120)


def code(resp) -> str:
    return resp.json()["error"]["code"]


# ------------------------------------------------------------------------------------------------ health, docs

def test_health_ready_model(base):
    assert requests.get(base + "/healthz").json() == {"status": "ok"}
    ready = requests.get(base + "/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    model = requests.get(base + "/v1/model").json()
    assert model["name"] == "test" and model["version"] == "0"
    assert model["classes"] == list(CLASSES) and "threshold" in model


def test_readyz_reports_a_model_that_failed_to_load(tmp_path):
    app = create_app({"MODEL": str(tmp_path / "missing"), "TMP_DIR": str(tmp_path)})
    app.extensions["vidtype"].loader.get(30)
    with running(app) as b:
        assert requests.get(b + "/healthz").status_code == 200
        ready = requests.get(b + "/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "failed"
        assert "no vidtype model" in ready.json()["error"]
        resp = requests.post(b + "/v1/classify", json={"url": "http://example.com/a.mp4"})
        assert resp.status_code == 503 and code(resp) == "model_unavailable" and "Retry-After" in resp.headers


def test_openapi_matches_the_routes(base, start):
    doc = requests.get(base + "/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    app = start.app[base]
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        routed |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed == documented


def test_errors_are_json_with_a_stable_code(base):
    resp = requests.get(base + "/nowhere")
    assert resp.status_code == 404 and code(resp) == "not_found" and resp.json()["request_id"]
    resp = requests.get(base + "/v1/classify")
    assert resp.status_code == 405 and code(resp) == "method_not_allowed"
    resp = requests.post(base + "/v1/classify", json={})
    assert resp.status_code == 400 and code(resp) == "no_video"
    resp = requests.post(base + "/v1/classify", data="[1]", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and code(resp) == "invalid_json"


# ------------------------------------------------------------------------------------------------ classify

def test_classify_upload_answers_like_predict_json(base, clips):
    resp = classify(base, clips["clip"], frames="4")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert PREDICTION_KEYS <= set(body) and body["request_id"] == resp.headers["X-Request-Id"]
    assert body["path"] == "clip.mp4"
    assert set(body["probabilities"]) == set(CLASSES)
    assert body["label"] in CLASSES or body["label"] == "unknown"
    assert abs(sum(body["probabilities"].values()) - 1) < 1e-3 and 0 <= body["trust"] <= 1
    kept = [f for f in body["frames"] if f["rejected"] is None]
    assert len(kept) == 4 and abs(sum(f["attention"] for f in kept) - 1) < 1e-2
    assert "thumbnail" not in body["frames"][0] and "segments" not in body
    assert body["video"]["width"] == 320 and body["video"]["duration_s"] == pytest.approx(2.0, abs=0.1)


def test_classify_keeps_the_request_id_it_was_given(base, clips):
    with open(clips["clip"], "rb") as f:
        resp = requests.post(base + "/v1/classify", files={"file": f}, data={"frames": 2},
                             headers={"X-Request-Id": "abc-123"})
    assert resp.json()["request_id"] == "abc-123" == resp.headers["X-Request-Id"]


def test_thumbnails_for_kept_and_rejected_frames(base, clips):
    body = classify(base, clips["black"], frames="6", thumbnails="1").json()
    rejected = [f for f in body["frames"] if f["rejected"]]
    assert rejected and all(f["rejected"] == "black" and 1.0 <= f["time_s"] <= 2.05 for f in rejected)
    for f in body["frames"]:
        assert f["thumbnail"].startswith("data:image/jpeg;base64,")
        jpeg = base64.b64decode(f["thumbnail"].split(",", 1)[1])
        assert jpeg[:2] == b"\xff\xd8" and len(jpeg) < 20_000


def test_timeline_option_gives_contiguous_segments(base, clips):
    body = classify(base, clips["long"], frames="3", timeline="1").json()
    segments = body["segments"]
    assert [(s["start_s"], s["end_s"]) for s in segments] == [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, 4.0)]
    for s in segments:
        assert set(s) == {"start_s", "end_s", "label", "confidence", "probabilities", "trust"}
        assert set(s["probabilities"]) == set(CLASSES)


@pytest.mark.parametrize("data, message", [({"frames": "0"}, "between"), ({"frames": "x"}, "number"),
                                           ({"tta": "maybe"}, "true or false"), ({"timeline": "0.1"}, "between")])
def test_invalid_options_are_refused(base, clips, data, message):
    resp = classify(base, clips["clip"], **data)
    assert resp.status_code == 400 and code(resp) == "invalid_option" and message in resp.json()["error"]["message"]


@pytest.mark.parametrize("kind, expected", [("noise", "not_a_video"), ("empty", "not_a_video")])
def test_files_that_are_not_videos(base, clips, tmp_path, kind, expected):
    path = clips["noise"] if kind == "noise" else tmp_path / "empty.mp4"
    if kind == "empty":
        path.write_bytes(b"")
    resp = classify(base, path)
    assert resp.status_code == 422 and code(resp) == expected


def test_classify_url_from_an_allowed_origin(base, clips, origin):
    url = origin.url("/chunked/clip.mp4")
    resp = requests.post(base + "/v1/classify", json={"url": url, "frames": 2, "tta": True}, timeout=120)
    assert resp.status_code == 200, resp.text
    assert resp.json()["path"] == url and resp.json()["video"]["width"] == 320


def test_classify_url_through_a_redirect(base, clips, origin):
    url = origin.url("/redirect?to=/files/clip.mp4")
    resp = requests.post(base + "/v1/classify", json={"url": url, "frames": 2}, timeout=120)
    assert resp.status_code == 200, resp.text


# ------------------------------------------------------------------------------------------------ URL rules

@pytest.mark.parametrize("url, words", [
    ("http://127.0.0.1:{port}/files/clip.mp4", "loopback"),
    ("http://localhost:{port}/files/clip.mp4", "resolves to"),  # refused after DNS resolution
    ("http://[::1]:{port}/files/clip.mp4", "loopback"),
    ("http://10.1.2.3/clip.mp4", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("ftp://example.com/clip.mp4", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
])
def test_private_destinations_and_other_schemes_are_refused(strict, origin, url, words):
    resp = requests.post(strict + "/v1/classify", json={"url": url.format(port=origin.port)})
    assert resp.status_code == 403 and code(resp) == "url_refused"
    assert words in resp.json()["error"]["message"]


def test_a_redirect_to_a_refused_destination_is_refused(base, origin):
    before = len(origin.requests)
    for target in ("http://169.254.169.254/latest/meta-data/", f"http://127.0.0.2:{origin.port}/files/clip.mp4"):
        url = origin.url("/redirect?to=" + target)
        resp = requests.post(base + "/v1/classify", json={"url": url})
        assert resp.status_code == 403 and code(resp) == "url_refused", resp.text
    assert len(origin.requests) == before + 2  # the redirects were fetched; their targets never were


def test_redirect_limit(base, origin):
    resp = requests.post(base + "/v1/classify", json={"url": origin.url("/loop/0")})
    assert resp.status_code == 502 and code(resp) == "too_many_redirects"


def test_fetch_size_cap_while_streaming(start, clips, origin):
    b = start(FETCH_ALLOW=LOOPBACK, FETCH_MAX_BYTES=10_000)
    for path in ("/files/clip.mp4", "/chunked/clip.mp4"):  # with and without Content-Length
        resp = requests.post(b + "/v1/classify", json={"url": origin.url(path)})
        assert resp.status_code == 413 and code(resp) == "fetch_too_large"
    assert tmp_files(start, b) == []


def test_fetch_timeouts_and_upstream_errors(start, origin):
    b = start(FETCH_ALLOW=LOOPBACK + ["10.255.255.0/24"], FETCH_READ_TIMEOUT_S=0.5, FETCH_CONNECT_TIMEOUT_S=0.5)
    t0 = time.monotonic()
    resp = requests.post(b + "/v1/classify", json={"url": origin.url("/silent?seconds=5")})
    assert resp.status_code == 504 and code(resp) == "fetch_timeout" and time.monotonic() - t0 < 4
    resp = requests.post(b + "/v1/classify", json={"url": "http://10.255.255.1:9/clip.mp4"})  # nothing answers
    assert resp.status_code in (502, 504) and code(resp) in ("fetch_timeout", "fetch_failed")
    resp = requests.post(b + "/v1/classify", json={"url": origin.url("/status/404")})
    assert resp.status_code == 502 and code(resp) == "fetch_failed" and "404" in resp.json()["error"]["message"]


# ------------------------------------------------------------------------------------------------ limits

def test_upload_size_limit(start, clips):
    b = start(MAX_CONTENT_LENGTH=20_000)
    resp = classify(b, clips["black"])
    assert resp.status_code == 413 and code(resp) == "upload_too_large"
    assert tmp_files(start, b) == []


def test_duration_and_resolution_limits(start, clips):
    b = start(SYNC_MAX_DURATION_S=1.0)
    resp = classify(b, clips["clip"])
    assert resp.status_code == 413 and code(resp) == "video_too_long" and "/v1/jobs" in resp.json()["error"]["message"]
    b = start(MAX_DURATION_S=1.0)
    assert code(classify(b, clips["clip"])) == "video_too_large"
    b = start(MAX_PIXELS=320 * 240 - 1)
    resp = classify(b, clips["clip"])
    assert resp.status_code == 413 and code(resp) == "video_too_large"


def test_timeline_segment_limit(start, clips):
    b = start(SYNC_MAX_SEGMENTS=3)
    resp = classify(b, clips["long"], timeline="1")
    assert resp.status_code == 413 and code(resp) == "timeline_too_long" and "/v1/jobs" in resp.text
    assert classify(b, clips["long"], timeline="2", frames="2").status_code == 200


def test_a_bad_allow_list_entry_fails_at_start(tiny_model_dir, tmp_path):
    with pytest.raises(ValueError):
        create_app({"MODEL": str(tiny_model_dir), "TMP_DIR": str(tmp_path), "FETCH_ALLOW": ["10.0.0.0/33"]})


def test_decode_timeout(start, clips):
    b = start(DECODE_TIMEOUT_S=0.0)
    resp = classify(b, clips["clip"])
    assert resp.status_code == 422 and code(resp) == "decode_timeout"


def test_concurrency_limit_answers_503_with_retry_after(start, clips, origin):
    b = start(FETCH_ALLOW=LOOPBACK, MAX_CONCURRENT=1)
    slow = {}

    def hold_the_slot():  # fetching a slowly arriving file keeps the only classification slot busy
        slow["resp"] = requests.post(b + "/v1/classify", json={"url": origin.url("/live/clip.mp4?seconds=2"),
                                                              "frames": 2}, timeout=60)

    t = threading.Thread(target=hold_the_slot)
    t.start()
    time.sleep(0.5)
    resp = classify(b, clips["clip"], frames="2")
    assert resp.status_code == 503 and code(resp) == "busy" and resp.headers["Retry-After"] == "2"
    t.join()
    assert slow["resp"].status_code == 200
    assert classify(b, clips["clip"], frames="2").status_code == 200  # the slot is free again


def test_temporary_files_are_always_removed(start, clips, origin):
    b = start(FETCH_ALLOW=LOOPBACK)
    classify(b, clips["clip"], frames="2")  # success
    classify(b, clips["noise"])  # not a video
    classify(b, clips["clip"], frames="999")  # refused option after the upload was read
    requests.post(b + "/v1/classify", json={"url": origin.url("/files/clip.mp4"), "frames": 2})
    requests.post(b + "/v1/classify", json={"url": origin.url("/status/500")})
    with open(clips["clip"], "rb") as f:
        job = requests.post(b + "/v1/jobs", files={"file": f}, data={"frames": 2}).json()
    poll(b, job["status_url"])
    assert tmp_files(start, b) == []


# ------------------------------------------------------------------------------------------------ jobs

def poll(base, where, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = requests.get(base + where).json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {where} did not finish")


def test_jobs_run_long_videos_and_timelines(start, clips, origin):
    b = start(FETCH_ALLOW=LOOPBACK, SYNC_MAX_DURATION_S=1.0)  # the 4 s video is too long to classify at once
    assert code(classify(b, clips["long"])) == "video_too_long"
    with open(clips["long"], "rb") as f:
        resp = requests.post(b + "/v1/jobs", files={"file": f}, data={"frames": 2, "timeline": 2})
    assert resp.status_code == 202 and resp.headers["Location"] == resp.json()["status_url"]
    job = poll(b, resp.json()["status_url"])
    assert job["state"] == "done" and job["error"] is None, job
    assert PREDICTION_KEYS <= set(job["result"]) and len(job["result"]["segments"]) == 2
    assert job["created"] <= job["started"] <= job["finished"]

    resp = requests.post(b + "/v1/jobs", json={"url": origin.url("/files/long.mp4"), "frames": 2})
    assert poll(b, resp.json()["status_url"])["result"]["path"].endswith("/files/long.mp4")


def test_failed_and_unknown_jobs(base, clips):
    with open(clips["noise"], "rb") as f:
        job = requests.post(base + "/v1/jobs", files={"file": f}).json()
    job = poll(base, job["status_url"])
    assert job["state"] == "failed" and job["error"]["code"] == "not_a_video" and job["result"] is None
    for job_id in ("0" * 32, "../../etc/passwd", "x"):
        resp = requests.get(base + f"/v1/jobs/{job_id}")
        assert resp.status_code == 404 and code(resp) in ("job_not_found", "not_found")


# ------------------------------------------------------------------------------------------------ token, metrics

def test_bearer_token_on_v1(start, clips):
    b = start(TOKEN="s3cret")
    resp = requests.get(b + "/v1/model")
    assert resp.status_code == 401 and code(resp) == "unauthorized" and "Bearer" in resp.headers["WWW-Authenticate"]
    assert requests.get(b + "/v1/model", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert requests.get(b + "/v1/model", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert requests.get(b + "/v1/stream?src=x").status_code == 401
    for path in ("/", "/healthz", "/readyz", "/metrics", "/openapi.json"):  # open without a token
        assert requests.get(b + path).status_code == 200, path


def test_token_from_the_environment(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDTYPE_TOKEN", "1234")
    app = create_app({"MODEL": str(tiny_model_dir), "TMP_DIR": str(tmp_path)})
    assert app.config["TOKEN"] == "1234"


def parse_metrics(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_metrics_count_requests_latency_videos_and_frames(start, clips):
    b = start()
    classify(b, clips["clip"], frames="3")
    classify(b, clips["noise"])
    requests.get(b + "/healthz")
    resp = requests.get(b + "/metrics")
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    m = parse_metrics(resp.text)
    assert m['vidtype_http_requests_total{method="POST",route="/v1/classify",status="200"}'] == 1
    assert m['vidtype_http_requests_total{method="POST",route="/v1/classify",status="422"}'] == 1
    assert m['vidtype_http_requests_total{method="GET",route="/healthz",status="200"}'] == 1
    assert m['vidtype_videos_classified_total{outcome="ok"}'] == 1
    assert m['vidtype_videos_classified_total{outcome="not_a_video"}'] == 1
    assert m["vidtype_frames_classified_total"] == 3
    assert m["vidtype_http_requests_in_flight"] == 1  # this scrape
    assert m["vidtype_model_ready"] == 1
    prefix = 'vidtype_http_request_duration_seconds_bucket{route="/v1/classify"'
    buckets = [v for k, v in m.items() if k.startswith(prefix)]
    assert buckets == sorted(buckets) and buckets[-1] == 2
    assert m['vidtype_http_request_duration_seconds_count{route="/v1/classify"}'] == 2


# ------------------------------------------------------------------------------------------------ vidtype serve

def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="gunicorn runs on POSIX only")
def test_vidtype_serve_runs_gunicorn_with_the_model_loaded_per_worker(tiny_model_dir, clips, tmp_path):
    port = free_port()
    env = {**os.environ, "VIDTYPE_TMP_DIR": json.dumps(str(tmp_path))}
    proc = subprocess.Popen([sys.executable, "-m", "vidtype.cli", "serve", "--port", str(port), "--model",
                             str(tiny_model_dir), "--workers", "2", "--token", "t0ken"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    b = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        ready = 0
        while time.monotonic() < deadline and ready < 4:  # several answers in a row: both workers ready
            try:
                ready = ready + 1 if requests.get(b + "/readyz", timeout=2).status_code == 200 else 0
            except requests.ConnectionError:
                pass
            time.sleep(0.25)
        assert ready >= 4, "the server did not become ready"
        auth = {"Authorization": "Bearer t0ken"}
        assert requests.get(b + "/v1/model", headers=auth).json()["name"] == "test"
        with open(clips["clip"], "rb") as f:
            resp = requests.post(b + "/v1/classify", files={"file": f}, data={"frames": 2}, headers=auth)
        assert resp.status_code == 200 and resp.json()["path"] == "clip.mp4"
        with open(clips["clip"], "rb") as f:  # a job submitted to one worker can be read from any
            job = requests.post(b + "/v1/jobs", files={"file": f}, data={"frames": 2}, headers=auth).json()
        for _ in range(200):
            state = requests.get(b + job["status_url"], headers=auth).json()["state"]
            if state == "done":
                break
            time.sleep(0.2)
        assert state == "done"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "gunicorn" in out.lower() or "Booting worker" in out
    assert out.count("Booting worker") == 2
