#!/usr/bin/env bash
# npm run demo: installs what is missing, brings the stack up, replays real traces through ingest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-installed.sh
npm run --silent build
bash deploy/local/stack.sh up
exec npx tsx scripts/demo.ts
