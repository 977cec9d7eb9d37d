#!/usr/bin/env bash
# The test command: installs the pinned ComfyUI host if needed, then runs the whole suite on it.
#   bash scripts/test.sh [pytest args]     e.g. bash scripts/test.sh -k injection
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/host.sh" install
cd "$ROOT"
# rootdir = tests/ (the repository root is itself the pack's Python package).
exec "$ROOT/.host/venv/bin/python" -m pytest -c tests/pytest.ini --rootdir tests "$@"
