#!/usr/bin/env bash
# npm test: everything, against the real stack (brought up here if it is down).
#   typecheck + build, architecture rules, the native tests under ASan + UBSan, unit, integration
#   and e2e tiers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-installed.sh
echo "[test] build (tsc -b, strict; ingest's native addons in libs/ingest-native must build too)"
export SHARDCAST_NATIVE=required
npm run --silent build
echo "[test] architecture rules (dependency-cruiser)"
npm run --silent lint
if [[ -z ${KAFKA_BROKERS:-}${DATABASE_URL:-}${REDIS_URL:-} ]] && docker info >/dev/null 2>&1; then
  echo "[test] Docker engine found and no stack variables set: tests start their own containers"
else
  echo "[test] local stack (set KAFKA_BROKERS, DATABASE_URL, REDIS_URL to use another)"
  # In CI, stop what this run started; on a developer's machine leave it up for the next run.
  if [[ ${CI:-} == true ]] && ! bash deploy/local/stack.sh status >/dev/null 2>&1; then
    trap 'bash deploy/local/stack.sh down || true' EXIT
  fi
  bash deploy/local/stack.sh up
fi
echo "[test] native tests under AddressSanitizer + UndefinedBehaviorSanitizer (libs/ingest-native/scripts/test-sanitized.sh)"
if [[ ${SHARDCAST_SKIP_SANITIZED:-} == 1 ]]; then
  echo "[test] skipped (SHARDCAST_SKIP_SANITIZED=1)"
else
  bash libs/ingest-native/scripts/test-sanitized.sh
fi
mkdir -p .stack
status=0
npx jest --ci --json --outputFile=.stack/jest-results.json "$@" || status=$?
# One plain closing line for CI readers that do not parse Jest's summary.
node -e '
  const r = require("./.stack/jest-results.json");
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);
' || true
exit $status
