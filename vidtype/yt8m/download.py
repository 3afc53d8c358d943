"""Downloading the curated videos with yt-dlp into the folder-per-class layout training reads.

    summary = download("manifest.csv", "data/yt8m", DownloadOptions(rate=2.0))
    # data/yt8m/animation/<id>.mp4, data/yt8m/gaming/<id>.mp4, ...; data/yt8m/errors.csv

Resumable: a video whose file exists is skipped, and every attempt is appended to OUT/.yt8m-download.jsonl (the
state file). A video found unavailable (removed, private, too large...) is not tried again unless
`retry_errors`; other failures (network, rate limiting) are retried on the next run. OUT/errors.csv lists the
manifest's failed videos with the reason.

YouTube-8M's 4-character ids are pseudonyms: the YouTube id is looked up first (`id_lookup`, the dataset's own
lookup service); 11-character ids and a manifest column `youtube_id` are used as they are.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .curate import read_manifest
from .errors import Yt8mError

log = logging.getLogger(__name__)

DEFAULT_URL = "https://www.youtube.com/watch?v={id}"
DEFAULT_LOOKUP = "https://storage.googleapis.com/data.yt8m.org/2/j/i/{prefix}/{id}.js"
# video only (the classifier ignores sound: no merging, no ffmpeg), mp4, at most 480p, H.264 preferred
DEFAULT_FORMAT = "bv*[height<=?480][ext=mp4][vcodec^=avc]/bv*[height<=?480][ext=mp4]/b[height<=?480][ext=mp4]"
STATE_FILE = ".yt8m-download.jsonl"
ERRORS_FILE = "errors.csv"
SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PERMANENT = ("video unavailable", "private video", "has been removed", "is not available", "no longer available",
             "account associated", "copyright", "http error 404", "http error 410", "confirm your age",
             "members-only", "max-filesize", "requested format is not available", "unsupported url",
             "no youtube id")


@dataclass
class DownloadOptions:
    url_template: str = DEFAULT_URL  # {id}: the YouTube id, {yt8m_id}: the manifest's id
    id_lookup: str | None = DEFAULT_LOOKUP  # {prefix}: the id's first 2 characters; None: ids are YouTube ids
    rate: float = 1.0  # seconds between two downloads
    limit_rate: str | int | None = None  # bytes per second for yt-dlp (e.g. "2M"); None: unlimited
    max_filesize: str | int = "100M"
    socket_timeout: float = 30.0
    retries: int = 3
    format: str = DEFAULT_FORMAT
    retry_errors: bool = False  # try videos recorded as unavailable again


@dataclass
class Outcome:
    id: str
    label: str
    status: str  # done | skipped (file already there) | unavailable | error
    path: str = ""
    url: str = ""
    youtube_id: str = ""
    error: str = ""


@dataclass
class Summary:
    counts: Counter = field(default_factory=Counter)  # per status
    errors_file: Path | None = None


class _Log:
    """yt-dlp's logger: keep its messages (the last one explains a download that silently did not happen)."""

    def __init__(self):
        self.messages: list[str] = []

    def debug(self, msg: str) -> None:
        if not msg.startswith("[debug] "):
            self.messages.append(msg)

    info = debug

    def warning(self, msg: str) -> None:
        self.messages.append(msg)
        log.debug("yt-dlp: %s", msg)

    def error(self, msg: str) -> None:
        self.messages.append(msg)


def is_permanent(message: str) -> bool:
    """Whether a failure will not go away by trying again later."""
    text = message.lower()
    return any(p in text for p in PERMANENT)


def _bytes(value: str | int | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    from yt_dlp.utils import parse_bytes

    n = parse_bytes(str(value))
    if n is None:
        raise Yt8mError(f"not a size: {value!r} (e.g. 500K, 2M)")
    return n


def read_state(out: Path) -> dict[str, dict]:
    """The latest recorded attempt per id (a torn last line from a crash is ignored)."""
    state = {}
    path = out / STATE_FILE
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                state[entry["id"]] = entry
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    return state


def resolve_id(vid: str, options: DownloadOptions) -> str:
    """The YouTube id of a manifest id: looked up for 4-character YouTube-8M pseudonyms, else the id itself."""
    if len(vid) != 4 or not options.id_lookup:
        return vid
    url = options.id_lookup.format(prefix=vid[:2], id=vid)
    try:
        with urllib.request.urlopen(url, timeout=options.socket_timeout) as r:
            text = r.read(4096).decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        if e.code in (403, 404, 410):
            raise Yt8mError(f"no YouTube id for {vid} ({url}: HTTP {e.code})") from None
        raise Yt8mError(f"id lookup failed: {url}: HTTP {e.code}") from None
    except (urllib.error.URLError, OSError) as e:
        raise Yt8mError(f"id lookup failed: {url}: {getattr(e, 'reason', e)}") from None
    m = re.search(r'i\(\s*"([^"]*)"\s*,\s*"([A-Za-z0-9_-]+)"\s*\)', text)
    if not m:
        raise Yt8mError(f"id lookup failed: {url}: unexpected answer {text[:80]!r}")
    return m.group(2)


def _fetch(url: str, target_stem: Path, options: DownloadOptions) -> str:
    """Download `url` to target_stem.<ext> with yt-dlp; return the file's path (raises Yt8mError)."""
    import yt_dlp

    logger = _Log()
    opts = {
        "outtmpl": {"default": str(target_stem).replace("%", "%%") + ".%(ext)s"},
        "format": options.format,
        "max_filesize": _bytes(options.max_filesize),
        "ratelimit": _bytes(options.limit_rate),
        "socket_timeout": options.socket_timeout,
        "retries": options.retries,
        "fragment_retries": options.retries,
        "noplaylist": True,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "cachedir": False,
        "logger": logger,
    }
    try:
        with yt_dlp.YoutubeDL(opts) as ydl:
            info = ydl.extract_info(url, download=True)
            downloads = (info or {}).get("requested_downloads") or [{}]
            path = downloads[0].get("filepath") or ydl.prepare_filename(info or {})
    except yt_dlp.utils.DownloadError as e:
        raise Yt8mError(str(e).removeprefix("ERROR: ")) from None
    if not path or not Path(path).is_file():
        last = next((m for m in reversed(logger.messages) if m.strip()), "")
        raise Yt8mError(f"nothing was downloaded{': ' + last if last else ''}")
    return path


def download(manifest: str | Path, out: str | Path, options: DownloadOptions | None = None, *,
             on_result: Callable[[int, int, Outcome], None] | None = None) -> Summary:
    """Download every video of a curated manifest (columns id,label[,youtube_id]) into OUT/<label>/<id>.mp4."""
    try:
        import yt_dlp  # noqa: F401
    except ImportError:
        raise Yt8mError("downloading needs yt-dlp: pip install 'vidtype[yt8m]'") from None
    options = options or DownloadOptions()
    rows = read_manifest(manifest)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state = read_state(out)
    summary = Summary()
    next_at = 0.0
    try:
        with open(out / STATE_FILE, "a", encoding="utf-8") as journal:
            for n, row in enumerate(rows, start=1):
                vid, label = row["id"], row["label"]
                before = state.get(vid, {})
                existing = _existing(out, label, vid)
                if existing is not None:
                    outcome = Outcome(vid, label, "skipped", str(existing))
                elif before.get("status") == "unavailable" and not options.retry_errors:
                    outcome = Outcome(vid, label, "unavailable", url=before.get("url", ""),
                                      error=before.get("error", ""))
                else:
                    time.sleep(max(0.0, next_at - time.monotonic()))
                    outcome = _attempt(vid, label, row.get("youtube_id") or before.get("youtube_id"),
                                       out / label / vid, options)
                    next_at = time.monotonic() + options.rate
                    state[vid] = {key: v for key, v in vars(outcome).items() if v}
                    state[vid]["time"] = time.strftime("%Y-%m-%dT%H:%M:%S")
                    journal.write(json.dumps(state[vid]) + "\n")
                    journal.flush()
                summary.counts[outcome.status] += 1
                if on_result is not None:
                    on_result(n, len(rows), outcome)
    finally:
        summary.errors_file = write_errors(out, rows, state)
    return summary


def _existing(out: Path, label: str, vid: str) -> Path | None:
    """The finished download of `vid` in OUT/<label>/, if any (yt-dlp's .part files do not count)."""
    if not SAFE_ID.match(vid) or not (out / label).is_dir():
        return None
    return next((p for p in sorted((out / label).glob(f"{vid}.*")) if p.suffix not in (".part", ".ytdl")), None)


def _attempt(vid: str, label: str, youtube_id: str | None, target: Path, options: DownloadOptions) -> Outcome:
    outcome = Outcome(vid, label, "error")
    try:
        if not SAFE_ID.match(vid):
            raise Yt8mError(f"unusable video id {vid!r} (letters, digits, - and _ only)")
        outcome.youtube_id = youtube_id or resolve_id(vid, options)
        outcome.url = options.url_template.format(id=outcome.youtube_id, yt8m_id=vid)
        target.parent.mkdir(parents=True, exist_ok=True)
        outcome.path = _fetch(outcome.url, target, options)
        outcome.status = "done"
    except Yt8mError as e:
        outcome.error = " ".join(str(e).split())  # one line (yt-dlp's messages carry \r and newlines)
        outcome.status = "unavailable" if is_permanent(outcome.error) else "error"
    return outcome


def write_errors(out: Path, rows: list[dict], state: dict[str, dict]) -> Path:
    """OUT/errors.csv: id,label,status,url,error,time of each manifest video whose last attempt failed."""
    path = out / ERRORS_FILE
    fd, tmp = tempfile.mkstemp(dir=out, prefix=".tmp-", suffix=".csv")
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "label", "status", "url", "error", "time"])
        for row in rows:
            s = state.get(row["id"], {})
            if s.get("status") in ("error", "unavailable") and _existing(out, row["label"], row["id"]) is None:
                w.writerow([row["id"], row["label"], s["status"]] + [s.get(k, "") for k in ("url", "error", "time")])
    os.replace(tmp, path)
    return path
