#!/usr/bin/env bash
# The GPU check (issue #14): BrushNet vs the fp32 reference in fp32/fp16/bf16 on the device, and the
# per-step cost of BrushNet sampling against plain sampling (SD1.5 512 px, SDXL 1024 px).
#
#   bash scripts/gpu_check.sh prepare      HERE, once: fills .whl/ (git-ignored) with the wheels the GPU
#                                          machine lacks (torchsde, trampoline, av) and a trimmed copy of the
#                                          host's ComfyUI 0.3.75 (.py files and configs; no tests, caches or
#                                          tokenizer vocabularies), then prints what would travel.
#   bash scripts/gpu_check.sh [ARGS]       ON THE GPU MACHINE (carry .whl): installs the wheels into
#                                          /tmp/brushedit_site, runs `python3 -m benchmarks.gpu_check ARGS`
#                                          with that machine's own python3/torch, and tees the log to
#                                          $OUT/gpu_check.log. The table goes to $OUT/gpu_check.md (+ .json).
#   bash scripts/gpu_check.sh --cpu-smoke  here, without a GPU: the same code paths at tiny sizes
#                                          (PYTHON=.host/venv/bin/python, or any python with torch).
# Exit status: that of benchmarks.gpu_check (0 ok, 1 a check failed, 2 no CUDA).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUNDLE="$ROOT/.whl"
# Pinned to what the host venv (scripts/host.sh) resolves; av is ComfyUI's video input (imported by comfy_api).
WHEELS=(torchsde==0.2.6 trampoline==0.1.2 av==18.1.0)
LIMIT_MIB=60   # the device tool carries at most 64 MiB (working tree + carried paths)

prepare() {
  local host_comfy="$ROOT/.host/ComfyUI"
  [ -f "$host_comfy/main.py" ] || { echo "no ComfyUI at $host_comfy: run \`bash scripts/host.sh install\` first" >&2; exit 1; }
  grep -qx '/.whl/' "$ROOT/.git/info/exclude" 2>/dev/null || echo '/.whl/' >> "$ROOT/.git/info/exclude"
  mkdir -p "$BUNDLE"
  local pip="python3 -m pip"
  [ -x "$ROOT/.host/venv/bin/python" ] && pip="$ROOT/.host/venv/bin/python -m pip"
  for spec in "${WHEELS[@]}"; do
    local name="${spec%%==*}" ver="${spec##*==}"
    if ! ls "$BUNDLE/${name}-${ver}-"*.whl >/dev/null 2>&1; then
      # the GPU machine: x86-64, CPython 3.12, no registry
      $pip download -q --disable-pip-version-check --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
        -d "$BUNDLE" "$spec"
    fi
  done
  rm -rf "$BUNDLE/ComfyUI"
  python3 - "$host_comfy" "$BUNDLE/ComfyUI" <<'PYEOF'
import shutil, sys
from pathlib import Path
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
# Left out: caches, ComfyUI's own tests, custom_nodes (the pack is loaded from the repository root),
# and the tokenizer vocabularies of text encoders (read only when a CLIP/T5/LLM tokenizer is built,
# which this check never does).
top_skip = {"tests", "tests-unit", "custom_nodes", "user", "output", "input", "temp"}  # top level only
def ignore(folder, names):
    here = Path(folder)
    out = set()
    for n in names:
        p = here / n
        if p.is_dir() and (n == "__pycache__" or (here == src and n in top_skip)):
            out.add(n)
        elif p.is_dir() and n.endswith("_tokenizer") and here.name in ("comfy", "text_encoders"):
            out.add(n)
        elif n.endswith((".pyc", ".pyo")):
            out.add(n)
    return out
shutil.copytree(src, dst, ignore=ignore, symlinks=True)
(dst / "custom_nodes").mkdir(exist_ok=True)
print(f"[gpu_check] trimmed ComfyUI copied to {dst}")
PYEOF
  local bundle_bytes tree_bytes
  bundle_bytes=$(du -sb "$BUNDLE" | cut -f1)
  tree_bytes=$(cd "$ROOT" && git ls-files -co --exclude-standard -z | xargs -0 -r stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
  ls -la "$BUNDLE"
  awk -v b="$bundle_bytes" -v t="$tree_bytes" -v lim="$LIMIT_MIB" 'BEGIN {
    tot = (b + t) / 1048576
    printf "[gpu_check] travels: working tree %.1f MiB + .whl %.1f MiB = %.1f MiB (limit 64, aim <= %d)\n", t/1048576, b/1048576, tot, lim
    exit (tot > lim) }' || { echo "[gpu_check] too large to travel" >&2; exit 1; }
  echo "[gpu_check] ready. Device command: bash scripts/gpu_check.sh   (carry: .whl)"
}

run_check() {
  cd "$ROOT"
  local py="${PYTHON:-python3}"
  if ! "$py" -c "import torchsde, trampoline, av" >/dev/null 2>&1; then
    if ls "$BUNDLE"/*.whl >/dev/null 2>&1; then
      local site=/tmp/brushedit_site
      "$py" -m pip install -q --disable-pip-version-check --no-index --no-deps --no-compile --no-cache-dir \
        --upgrade --target "$site" "$BUNDLE"/*.whl
      export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
    else
      echo "[gpu_check] torchsde/trampoline/av missing and no wheels in .whl/: run \`bash scripts/gpu_check.sh prepare\` here and carry .whl" >&2
    fi
  fi
  if [ -z "${BRUSHEDIT_COMFY_DIR:-}" ]; then
    if [ -f "$BUNDLE/ComfyUI/main.py" ]; then export BRUSHEDIT_COMFY_DIR="$BUNDLE/ComfyUI"
    else export BRUSHEDIT_COMFY_DIR="$ROOT/.host/ComfyUI"; fi
  fi
  local out="${OUT:-$ROOT/out}"
  mkdir -p "$out"
  export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  echo "[gpu_check] python $("$py" -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.cuda.is_available())') ComfyUI $BRUSHEDIT_COMFY_DIR"
  set +e
  "$py" -m benchmarks.gpu_check --out "$out" "$@" 2>&1 | tee "$out/gpu_check.log"
  local rc=${PIPESTATUS[0]}
  set -e
  return "$rc"
}

case "${1:-}" in
  prepare) prepare ;;
  -h|--help) sed -n '2,16p' "$0" ;;
  *) run_check "$@" ;;
esac
