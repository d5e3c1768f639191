#!/usr/bin/env bash
# Copies the hand-written ESM model worker next to the compiled lib (tsc does not copy .mjs files).
# Optional in this monorepo: ForecastWorkerPool also finds the entry in libs/forecasting/src/worker.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$here/dist/src/worker"
cp "$here/src/worker/forecast-worker.mjs" "$here/dist/src/worker/forecast-worker.mjs"
