#!/usr/bin/env bash
# The test command: installs the pinned ComfyUI host if needed, then runs the whole suite on it.
#   bash scripts/test.sh [pytest args]     e.g. bash scripts/test.sh -k injection   or   bash scripts/test.sh e2e/
# Paths are relative to tests/ (pytest runs there: the repository root is itself the pack's Python package).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/host.sh" install
cd "$ROOT/tests"
exec "$ROOT/.host/venv/bin/python" -m pytest -c pytest.ini --rootdir . "$@"
