#!/usr/bin/env bash
# The main job: install the host if needed, then run the SD1.5 BrushNet workflow headless.
#   bash scripts/run_example.sh [--checkpoint PATH --brushnet PATH] [--image PATH --mask PATH] [--steps N]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/host.sh" install
cd "$ROOT"
exec "$ROOT/.host/venv/bin/python" -m demo.run_example "$@"
