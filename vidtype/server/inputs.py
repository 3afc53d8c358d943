"""What a request asks for: the video (an upload or a URL) as a temporary file, and the options.

    opts = parse_options(request_values(), current_app.config)
    with received_video(tmp_dir, fetch_limits) as video:   # the file is removed when the block ends
        video.path, video.name
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flask import request

from .errors import ApiError
from ..fetch import FetchLimits, fetch_to_file

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off", "")


@dataclass
class Options:
    frames: int | None = None
    tta: bool = False
    timeline: float | None = None  # segment length in seconds
    thumbnails: bool = False


@dataclass
class Video:
    path: str  # the temporary file
    name: str  # what the result reports as its `path`: the upload's file name or the URL


def request_values() -> dict:
    """Options and `url` from the query string, then the form or the JSON body (later ones win)."""
    values = dict(request.args)
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_json", "the JSON body must be an object such as {\"url\": \"https://...\"}")
        values.update(body)
    else:
        values.update(request.form)
    return values


def _bool(name: str, v) -> bool:
    if isinstance(v, bool):
        return v
    if str(v).strip().lower() in TRUE:
        return True
    if str(v).strip().lower() in FALSE:
        return False
    raise ApiError(400, "invalid_option", f"option {name!r} must be true or false, not {v!r}")


def number(name: str, v, cast, lo, hi):
    """`v` as a number in [lo, hi]; otherwise a 400 `invalid_option`."""
    try:
        x = cast(v)
    except (TypeError, ValueError):
        raise ApiError(400, "invalid_option", f"option {name!r} must be a number, not {v!r}") from None
    if isinstance(v, bool) or not lo <= x <= hi:
        raise ApiError(400, "invalid_option", f"option {name!r} must be between {lo:g} and {hi:g}, not {v!r}")
    return x


def parse_options(values: dict, config) -> Options:
    """Validate `frames`, `tta`, `timeline` and `thumbnails`; a bad value is a 400 `invalid_option`."""
    opts = Options()
    if values.get("frames") not in (None, ""):
        opts.frames = number("frames", values["frames"], int, 1, config["MAX_FRAMES"])
    if values.get("timeline") not in (None, "", 0, "0"):
        opts.timeline = number("timeline", values["timeline"], float, config["MIN_TIMELINE_S"], 24 * 3600)
    opts.tta = _bool("tta", values.get("tta", False))
    opts.thumbnails = _bool("thumbnails", values.get("thumbnails", False))
    return opts


def _suffix(name: str) -> str:
    # Keep a plain extension: it helps the demuxer with raw streams (.h264) and is never trusted otherwise.
    ext = Path(name).suffix.lower()
    return ext if re.fullmatch(r"\.[a-z0-9]{1,8}", ext) else ".bin"


def temp_path(tmp_dir: str | Path, name: str) -> str:
    return os.path.join(tmp_dir, f"{uuid.uuid4().hex}{_suffix(name)}")


def save_upload(tmp_dir: str | Path) -> Video | None:
    """Write the multipart field `file` to a temporary file; None when the request has no upload."""
    upload = request.files.get("file")
    if upload is None:
        return None
    name = os.path.basename(upload.filename or "upload")
    path = temp_path(tmp_dir, name)
    try:
        upload.save(path)
    except BaseException:
        remove(path)
        raise
    return Video(path, name)


def fetch_url(url, tmp_dir: str | Path, limits: FetchLimits) -> Video:
    """Download `url` (checked by the fetch rules) to a temporary file."""
    if not isinstance(url, str) or not url.strip():
        raise ApiError(400, "invalid_url", "`url` must be a non-empty string")
    url = url.strip()
    path = temp_path(tmp_dir, urlsplit(url).path)
    try:
        fetch_to_file(url, path, limits)
    except BaseException:
        remove(path)
        raise
    return Video(path, url)


def remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


@contextmanager
def received_video(values: dict, tmp_dir: str | Path, limits: FetchLimits):
    """The request's video as a temporary file (an upload in `file`, or `url`), removed afterwards."""
    video = save_upload(tmp_dir)
    if video is None:
        if "url" not in values:
            raise ApiError(400, "no_video", "send a video as the multipart field `file`, or a JSON body "
                                            "{\"url\": \"https://...\"}")
        video = fetch_url(values["url"], tmp_dir, limits)
    try:
        yield video
    finally:
        remove(video.path)


def make_tmp_dir(root: str | None) -> str:
    """A private directory for this worker's temporary files."""
    return tempfile.mkdtemp(prefix=f"vidtype-{os.getpid()}-", dir=root)
