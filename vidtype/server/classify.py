"""One request's classification: limits on the video, the pipeline, thumbnails and the timeline.

Returns the JSON object of `vidtype predict --json` (`Prediction.to_dict()`), with `thumbnail` data URLs in
`frames` when asked and `segments` when a timeline was asked for.
"""

from __future__ import annotations

import base64
import time

import cv2

from ..decode import decode_at, probe
from ..errors import VideoTooLargeError
from ..pipeline import sample_views
from ..timeline import classify_timeline, windows
from .errors import ApiError
from .inputs import Options


def check_video(info, config, sync: bool) -> None:
    """Refuse videos beyond the configured duration (413); `probe(max_pixels=)` already refused large frames."""
    longest = config["SYNC_MAX_DURATION_S"] if sync else config["MAX_DURATION_S"]
    if info.duration_s > config["MAX_DURATION_S"]:
        raise VideoTooLargeError(f"the video lasts {info.duration_s:.0f} s, more than the limit of "
                                 f"{config['MAX_DURATION_S']:.0f} s")
    if info.duration_s > longest:
        raise ApiError(413, "video_too_long", f"the video lasts {info.duration_s:.0f} s; /v1/classify takes up to "
                                              f"{longest:.0f} s, submit longer ones to POST /v1/jobs")


def data_url(image, side: int) -> str:
    """A small JPEG of an RGB image as a data: URL."""
    h, w = image.shape[:2]
    scale = side / max(h, w)
    if scale < 1:
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 75])
    return "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode("ascii")


def add_thumbnails(result: dict, sample, path: str, info, side: int, timeout_s: float) -> None:
    """Give every frame record a `thumbnail`: kept frames from the sample, rejected ones decoded again."""
    thumbs = {round(f.time_s, 3): data_url(f.image, side) for f in sample.frames}
    missing = sorted({r.time_s for r in sample.rejected if round(r.time_s, 3) not in thumbs})
    if missing:
        frames = decode_at(path, missing, info=info, max_side=2 * side, exact=True,
                           deadline=time.monotonic() + timeout_s)
        for t in missing:  # decode_at returns each distinct frame once: match by nearest time
            nearest = min(frames, key=lambda f: abs(f.time_s - t), default=None)
            if nearest is not None:
                thumbs[round(t, 3)] = data_url(nearest.image, side)
    for record in result["frames"]:
        record["thumbnail"] = thumbs.get(round(record["time_s"], 3))


def classify_video(clf, path: str, name: str, opts: Options, config, sync: bool = True) -> dict:
    """Classify the file at `path` (reported as `name`) with the request's options."""
    t0 = time.perf_counter()
    info = probe(path, timeout_s=config["DECODE_TIMEOUT_S"], max_pixels=config["MAX_PIXELS"])
    check_video(info, config, sync)
    most = config["SYNC_MAX_SEGMENTS"] if sync else config["MAX_SEGMENTS"]
    if opts.timeline and len(windows(info.duration_s, opts.timeline)) > most:
        hint = "submit it to POST /v1/jobs or ask" if sync else "ask"
        raise ApiError(413, "timeline_too_long", f"a timeline of {opts.timeline:g} s segments would have more than "
                                                 f"{most} segments; {hint} for longer segments")
    timeout = config["DECODE_TIMEOUT_S"]
    samples = sample_views(path, opts.frames or clf.model.frames, tta=opts.tta, timeout_s=timeout)
    pred = clf.classify_samples(name, samples, tta=opts.tta, decode_s=time.perf_counter() - t0)
    result = pred.to_dict()
    if opts.thumbnails:
        add_thumbnails(result, samples[0], path, info, config["THUMBNAIL_SIDE"], timeout)
    if opts.timeline:
        segments = classify_timeline(clf, path, opts.timeline, opts.frames, info=info, tta=opts.tta,
                                     timeout_s=timeout)
        result["segments"] = [s.to_dict() for s in segments]
    return result
