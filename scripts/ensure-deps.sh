#!/bin/sh
# Installs the project's npm dependencies when package-lock.json changed since the last install.
# Electron's binary cannot be downloaded here (and is not needed to test the viewer), so skip it.
set -eu
cd "$(dirname "$0")/.."
export ELECTRON_SKIP_BINARY_DOWNLOAD=1
stamp=node_modules/.vigil-deps-stamp
want=$(cat package-lock.json package.json | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing npm dependencies (npm ci; better-sqlite3 compiles from source, ~1-2 min)…" >&2
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi
