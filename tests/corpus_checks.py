"""Shared by the recorded corpus's smoke tests: their Debian packages (`scripts/setup.sh --corpus` installs them)
and reading back what a source wrote."""

import os

import av
import pytest

from vidtype.corpus.recorded.base import missing_apt


def need_packages(packages) -> None:
    """Skip the test when a package is missing; fail instead under VIDTYPE_REQUIRE_CORPUS=1 (CI), where a
    skipped smoke test would hide a broken corpus source."""
    missing = missing_apt(packages)
    if not missing:
        return
    reason = f"needs Debian packages {' '.join(missing)} (scripts/setup.sh --corpus installs them)"
    if os.environ.get("VIDTYPE_REQUIRE_CORPUS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def one_short_clip(source, out, seed: int) -> list:
    """What `source.clips` writes for one 3 s, 320x180 clip (sources that take seconds= and size=)."""
    need_packages(source.APT)
    return list(source.clips(out, 1, seed, set(), seconds=3, size=(320, 180)))


def frames_of(path) -> tuple[list, float]:
    """Every frame of a clip as RGB arrays, and its frame rate."""
    with av.open(str(path)) as f:
        stream = f.streams.video[0]
        return [x.to_ndarray(format="rgb24") for x in f.decode(stream)], float(stream.average_rate)
