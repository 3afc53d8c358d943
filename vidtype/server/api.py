"""The JSON API under /v1: classify a video now, or as a job; describe the model."""

from __future__ import annotations

import hmac

from flask import Blueprint, current_app, g, jsonify, request, url_for

from ..errors import VidtypeError
from .classify import classify_video
from .errors import ApiError
from .inputs import Video, fetch_url, parse_options, received_video, remove, request_values, save_upload
from .jobs import QueueFull
from .state import busy, classification_slot, classifier, fetch_limits, state

bp = Blueprint("api", __name__, url_prefix="/v1")


def require_token() -> None:
    """With a configured TOKEN, every /v1 request needs `Authorization: Bearer <token>`."""
    token = current_app.config.get("TOKEN")
    if not token:
        return
    sent = request.headers.get("Authorization", "")
    scheme, _, value = sent.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), str(token).encode()):
        raise ApiError(401, "unauthorized", "this server needs `Authorization: Bearer <token>`",
                       {"WWW-Authenticate": 'Bearer realm="vidtype"'})


bp.before_request(require_token)


def _counted(s, fn):
    """Run one classification and count it in the metrics by outcome."""
    try:
        result = fn()
    except (VidtypeError, ApiError) as e:
        s.metrics.video_done(e.code)
        raise
    s.metrics.video_done("ok", frames=sum(1 for f in result["frames"] if f.get("rejected") is None))
    return result


@bp.post("/classify")
def classify():
    """Classify an uploaded file (`file`) or a URL (`url`) and answer with the prediction."""
    s, config = state(), current_app.config
    with classification_slot(s):
        clf = classifier()
        values = request_values()
        opts = parse_options(values, config)
        with received_video(values, s.tmp_dir, fetch_limits(config)) as video:
            result = _counted(s, lambda: classify_video(clf, video.path, video.name, opts, config, sync=True))
    result["request_id"] = g.request_id
    return jsonify(result)


@bp.post("/jobs")
def submit_job():
    """Queue a classification (long videos, timelines); answers 202 with the job's id and where to poll."""
    s, config = state(), current_app.config
    clf = classifier()
    values = request_values()
    opts = parse_options(values, config)
    video = save_upload(s.tmp_dir)
    if video is None and "url" not in values:
        raise ApiError(400, "no_video", "send a video as the multipart field `file`, or a JSON body "
                                        "{\"url\": \"https://...\"}")
    limits = fetch_limits(config)
    settings = dict(config)  # the job thread has no application context
    fetched: list[Video] = []

    def run() -> dict:
        v = video
        if v is None:
            v = fetch_url(values["url"], s.tmp_dir, limits)
            fetched.append(v)
        with classification_slot(s, blocking=True):
            return _counted(s, lambda: classify_video(clf, v.path, v.name, opts, settings, sync=False))

    def cleanup() -> None:
        for v in [video, *fetched]:
            if v is not None:
                remove(v.path)

    try:
        job_id = s.jobs.submit(run, cleanup)
    except QueueFull:
        cleanup()
        raise busy(f"holding {config['MAX_QUEUED_JOBS']} queued jobs") from None
    where = url_for("api.get_job", job_id=job_id)
    body = {"job_id": job_id, "state": "queued", "status_url": where, "request_id": g.request_id}
    return jsonify(body), 202, {"Location": where}


@bp.get("/jobs/<job_id>")
def get_job(job_id: str):
    """A job's state: queued, running, done (with `result`) or failed (with `error`)."""
    job = state().jobs.get(job_id)
    if job is None:
        raise ApiError(404, "job_not_found", f"no job {job_id!r} (unknown, or expired)")
    return jsonify(job)


@bp.get("/model")
def model():
    """Name, version, classes and threshold of the loaded model."""
    clf = classifier()
    return jsonify({**clf.model.describe(), "frames": clf.model.frames})
