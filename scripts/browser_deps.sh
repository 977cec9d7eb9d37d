#!/usr/bin/env bash
# Install (idempotently) what the browser test (tests/browser/) needs:
#   - Debian's chromium (apt-get) when /usr/bin/chromium is missing,
#   - playwright-core (pinned, from npm) into .host/node/ (git-ignored). Never downloads a browser build.
# Usage: bash scripts/browser_deps.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_DIR="${BRUSHEDIT_NODE_DIR:-$ROOT/.host/node}"
PLAYWRIGHT_CORE_VERSION="1.65.1"

if [ ! -x /usr/bin/chromium ]; then
  echo "[browser] installing Debian chromium"
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends chromium
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "[browser] installing Debian nodejs + npm"
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nodejs npm
fi

installed=""
if [ -f "$NODE_DIR/node_modules/playwright-core/package.json" ]; then
  installed="$(node -p "require('$NODE_DIR/node_modules/playwright-core/package.json').version")"
fi
if [ "$installed" != "$PLAYWRIGHT_CORE_VERSION" ]; then
  echo "[browser] installing playwright-core@$PLAYWRIGHT_CORE_VERSION into $NODE_DIR"
  mkdir -p "$NODE_DIR"
  [ -f "$NODE_DIR/package.json" ] || echo '{"name": "brushedit-browser-test", "private": true}' > "$NODE_DIR/package.json"
  # PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: playwright-core downloads nothing, but make sure of it.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error \
    "playwright-core@$PLAYWRIGHT_CORE_VERSION"
fi
echo "[browser] chromium: $(/usr/bin/chromium --version 2>/dev/null || echo '?'); node $(node --version); playwright-core $PLAYWRIGHT_CORE_VERSION"
