#!/usr/bin/env bash
# The native property/differential unit tests and the native integration tests against the
# AddressSanitizer + UndefinedBehaviorSanitizer build of both addons (docs/decisions/0018): run by
# scripts/test.sh (npm test, CI) and by `npm run test:native-sanitized`. Extra arguments go to Jest.
#   SHARDCAST_PROPERTY_RUNS_SCALE  fraction of each property test's runs (default 0.25 here)
set -euo pipefail
cd "$(dirname "$0")/../../.."
bash libs/ingest-native/native/build.sh --sanitize
asan_runtime=$(gcc -print-file-name=libasan.so)
[[ -f $asan_runtime ]] || { echo "[sanitized] the ASan runtime is missing ($asan_runtime): apt-get install -y libasan8 (gcc's)" >&2; exit 1; }
# Node is not instrumented, so the runtime must be loaded before it: LD_PRELOAD. V8 keeps memory
# until exit by design, so leak detection would only report V8; the sanitized code's leaks are
# not what this run is for. UBSan stops at the first report (-fno-sanitize-recover=all).
export LD_PRELOAD=$asan_runtime
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:print_summary=1:allow_user_segv_handler=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export SHARDCAST_NATIVE_BUILD=asan
export SHARDCAST_PROPERTY_RUNS_SCALE=${SHARDCAST_PROPERTY_RUNS_SCALE:-0.25}
started=$SECONDS
status=0
npx jest --ci --runInBand libs/ingest-native --selectProjects unit int sanitized "$@" || status=$?
echo "[sanitized] native tests under ASan + UBSan: $((SECONDS - started)) s, exit $status"
exit $status
