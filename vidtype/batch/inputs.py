"""What a batch run reads: INPUT resolved to a list of video paths and URLs, and URLs fetched to temp files.

    resolve_inputs("videos/")              # every video file under the folder (recursive), sorted
    resolve_inputs("videos/**/*.mp4")      # a glob
    resolve_inputs("list.csv")             # a CSV/Parquet manifest: column path (or url), relative to the file
    with local_copy("https://host/a.mp4", limits) as path:   # downloaded, size-capped, deleted afterwards
        ...

Paths come back absolute (they are a result row's identity, so a rerun from another folder still resumes),
URLs unchanged; duplicates are dropped, first occurrence kept.
"""

from __future__ import annotations

import glob
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import VidtypeError
from ..fetch import FetchLimits, fetch_to_file
from ..train.datasets import VIDEO_EXTENSIONS, read_table

MANIFEST_SUFFIXES = (".csv", ".parquet", ".pq")
MANIFEST_COLUMNS = ("path", "url", "uri", "file", "video")  # the first one present names the inputs
URL_SCHEMES = ("http://", "https://")
ANYWHERE = ("0.0.0.0/0", "::/0")  # batch fetches what its operator listed, private hosts included


class InputError(VidtypeError):
    """INPUT is neither a folder, a glob, a video file nor a readable manifest."""

    code = "input_error"


@dataclass(frozen=True)
class DownloadLimits:
    """Caps on one URL download: bytes, seconds to connect / between reads (`timeout_s`), seconds in all."""

    max_bytes: int = 500 * 1024 * 1024
    timeout_s: float = 30.0
    total_timeout_s: float = 600.0


def is_url(item: str) -> bool:
    return str(item).lower().startswith(URL_SCHEMES)


def resolve_inputs(spec: str | Path | list) -> list[str]:
    """INPUT -> video paths (absolute) and URLs: a folder, a glob, a manifest, one video file, or a list of these."""
    if isinstance(spec, (list, tuple)):
        items = [i for s in spec for i in resolve_inputs(s)]
    else:
        items = _resolve_one(str(spec))
    return list(dict.fromkeys(items))


def _resolve_one(spec: str) -> list[str]:
    if is_url(spec):
        return [spec]
    p = Path(spec).expanduser()
    if p.is_dir():
        return [os.path.abspath(f) for f in sorted(p.rglob("*")) if _is_video_file(f)]
    if p.is_file() and p.suffix.lower() in MANIFEST_SUFFIXES:
        return read_manifest(p)
    if p.is_file():
        return [os.path.abspath(p)]
    if glob.has_magic(spec):
        found = sorted(glob.glob(os.path.expanduser(spec), recursive=True))
        return [os.path.abspath(f) for f in found if Path(f).is_file()]
    raise InputError(f"{spec}: no such file or folder (INPUT is a folder, a glob, a video or a .csv/.parquet manifest)")


def _is_video_file(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS and not p.name.startswith(".")


def read_manifest(path: str | Path) -> list[str]:
    """The inputs a CSV/Parquet manifest lists: column path/url/uri/file/video (or its only column)."""
    path = Path(path)
    try:
        rows = read_table(path)
    except Exception as e:  # a malformed CSV or Parquet file
        raise InputError(f"{path}: cannot read the manifest ({e})") from e
    if not rows:
        return []
    columns = list(rows[0])
    column = next((c for c in MANIFEST_COLUMNS if c in columns), columns[0] if len(columns) == 1 else None)
    if column is None:
        raise InputError(f"{path}: a manifest needs a column named {' or '.join(MANIFEST_COLUMNS)} "
                         f"(has {', '.join(columns)})")
    out = []
    for row in rows:
        value = row[column].strip()
        if not value:
            continue
        if is_url(value):
            out.append(value)
        else:
            p = Path(value).expanduser()
            out.append(os.path.abspath(p if p.is_absolute() else path.parent / p))
    return out


@contextmanager
def local_copy(item: str, limits: DownloadLimits | None = None):
    """Yield a local path for `item`: the path itself, or a URL downloaded to a temp file removed afterwards."""
    if not is_url(item):
        yield item
        return
    suffix = Path(item.split("?", 1)[0]).suffix
    fd, tmp = tempfile.mkstemp(prefix="vidtype-batch-", suffix=suffix if len(suffix) <= 6 else "")
    os.close(fd)
    try:
        download(item, tmp, limits or DownloadLimits())
        yield tmp
    finally:
        Path(tmp).unlink(missing_ok=True)


def download(url: str, dest: str, limits: DownloadLimits) -> int:
    """GET `url` into `dest` under `limits` (redirects followed); return the bytes written.

    The operator wrote the manifest, so any host is fetched (unlike the server, which refuses private addresses).
    """
    return fetch_to_file(url, dest, FetchLimits(max_bytes=limits.max_bytes, connect_timeout_s=limits.timeout_s,
                                                read_timeout_s=limits.timeout_s,
                                                total_timeout_s=limits.total_timeout_s, allow=ANYWHERE))
