#!/usr/bin/env bash
# Installs node_modules from the lockfile when missing or older than it (fresh clone, CI).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "[setup] installing npm packages from package-lock.json" >&2
  npm ci --no-audit --no-fund >&2
fi
