#!/usr/bin/env bash
# Registry check: validate pyproject.toml with the Comfy Registry's own CLI (comfy-cli, from PyPI),
# then require every field users see on the registry page, read with comfy-cli's own parser.
#   bash scripts/registry_check.sh
# comfy-cli (pinned) and ruff, which its validation runs, live in .host/comfy-cli/ (git-ignored).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${BRUSHEDIT_COMFY_CLI_VENV:-$ROOT/.host/comfy-cli}"
COMFY_CLI_VERSION="1.23.0"
RUFF_VERSION="0.14.10"

have="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("comfy-cli"))' 2>/dev/null || true)"
if [ "$have" != "$COMFY_CLI_VERSION" ]; then
  echo "[registry] installing comfy-cli==$COMFY_CLI_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "comfy-cli==$COMFY_CLI_VERSION" "ruff==$RUFF_VERSION"
fi

cd "$ROOT"
export DO_NOT_TRACK=1 COMFY_CLI_DISABLE_TELEMETRY=1 HOME="${BRUSHEDIT_COMFY_CLI_HOME:-$VENV/home}"
mkdir -p "$HOME"
out="$("$VENV/bin/comfy" --skip-prompt --no-enable-telemetry node validate 2>&1)" || { echo "$out"; echo "[registry] comfy node validate failed"; exit 1; }
echo "$out"
if grep -qiE "warning|error" <<<"$out"; then
  echo "[registry] comfy node validate reported problems (above)"
  exit 1
fi

"$VENV/bin/python" - <<'PY'
import re
import struct
import sys
import tomllib
from pathlib import Path

from comfy_cli.registry.config_parser import extract_node_configuration

cfg = extract_node_configuration("pyproject.toml")
if cfg is None:
    sys.exit("[registry] pyproject.toml could not be read by comfy-cli")
p, c = cfg.project, cfg.tool_comfy
raw = tomllib.loads(Path("pyproject.toml").read_text())
problems = []
need = {"name": p.name, "version": p.version, "description": p.description, "license": p.license.file or p.license.text,
        "urls.Repository": p.urls.repository, "urls.Issues": p.urls.issues, "urls.Documentation": p.urls.documentation,
        "tool.comfy.PublisherId": c.publisher_id, "tool.comfy.DisplayName": c.display_name, "tool.comfy.Icon": c.icon,
        "tool.comfy.requires-comfyui": p.supported_comfyui_version,
        "keywords (the registry's tags)": raw["project"].get("keywords")}
problems += [f"{k} is empty" for k, v in need.items() if not v]
if p.license.file and not Path(p.license.file).is_file():
    problems.append(f"license file {p.license.file} is missing")
if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*", p.name or "") or len(p.name) >= 100:
    problems.append(f"name {p.name!r} is not a valid registry node id")
if not re.fullmatch(r"\d+\.\d+\.\d+", p.version or ""):
    problems.append(f"version {p.version!r} is not X.Y.Z")
repo = (p.urls.repository or "").rstrip("/")
m = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+)", repo)
if not m:
    problems.append(f"Repository {repo!r} is not a GitHub repository URL")
else:
    prefix = f"https://raw.githubusercontent.com/{m[1]}/{m[2]}/main/"
    if not (c.icon or "").startswith(prefix):
        problems.append(f"Icon {c.icon!r} is not a file of this repository ({prefix}...)")
    else:
        icon = Path(c.icon[len(prefix):])
        if icon.suffix.lower() not in (".png", ".jpg", ".jpeg", ".gif", ".svg") or not icon.is_file():
            problems.append(f"Icon file {icon} is missing or not SVG/PNG/JPG/GIF")
        elif icon.suffix.lower() == ".png":
            w, h = struct.unpack(">II", icon.read_bytes()[16:24])
            if w > 800 or h > 400:
                problems.append(f"Icon {icon} is {w}x{h}; the registry allows at most 800x400")
if problems:
    sys.exit("[registry] " + "\n[registry] ".join(problems))
print(f"[registry] ok: {p.name} {p.version}, publisher {c.publisher_id}, ComfyUI {p.supported_comfyui_version}, "
      f"icon {c.icon}, {len(raw['project']['keywords'])} tags")
PY
