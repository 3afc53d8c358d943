"""The recorded corpus's smoke tests need Debian packages (`scripts/setup.sh --corpus` installs them)."""

import os

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
