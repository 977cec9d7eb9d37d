#!/usr/bin/env bash
# The test command: installs the ComfyUI host (scripts/host.sh) and the browser side
# (scripts/browser_deps.sh) if needed, then runs the whole suite on that host.
#   bash scripts/test.sh [pytest args]     e.g. bash scripts/test.sh -k injection   or   bash scripts/test.sh e2e/
# Paths are relative to tests/ (pytest runs there: the repository root is itself the pack's Python package).
#
# Environment:
#   BRUSHEDIT_HOST_DIR (and the other settings host.sh documents) pick the host and build it if needed;
#     default .host/ = ComfyUI 0.3.75 with today's requirements. BRUSHEDIT_COMFY_DIR follows it
#     unless set (the tests read it).
#   BRUSHEDIT_SKIP_BROWSER=1  do not install chromium/node/playwright-core (without them the browser
#     tests skip locally, and fail under CI=true).
# The run ends with every skip reason and its count (tests/conftest.py); each names what to install or set.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOST="${BRUSHEDIT_HOST_DIR:-$ROOT/.host}"
case "$HOST" in /*) ;; *) HOST="$PWD/$HOST" ;; esac
export BRUSHEDIT_HOST_DIR="$HOST"
export BRUSHEDIT_COMFY_DIR="${BRUSHEDIT_COMFY_DIR:-$HOST/ComfyUI}"
bash "$ROOT/scripts/host.sh" install
if [ "${BRUSHEDIT_SKIP_BROWSER:-0}" != 1 ]; then
  bash "$ROOT/scripts/browser_deps.sh" \
    || echo "[test] could not install the browser side: the browser tests will skip (and fail under CI)" >&2
fi
cd "$ROOT/tests"
exec "$HOST/venv/bin/python" -m pytest -c pytest.ini --rootdir . "$@"
