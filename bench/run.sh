#!/usr/bin/env bash
# npm run bench:<name> [-- args]: builds, brings the local stack up if needed, runs bench/<name>.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1; shift
[[ -f bench/$name.ts ]] || { echo "no benchmark named $name (bench/$name.ts)" >&2; exit 2; }
bash scripts/ensure-installed.sh
npm run --silent build
# bench:forecast needs the stack only for its production figures; bench:proactive and bench:hashing run the libraries alone.
if [[ $name != proactive && $name != hashing && ( $name != forecast || " $* " != *" --skip-production "* ) ]]; then bash deploy/local/stack.sh up >&2; fi
exec npx tsx "bench/$name.ts" "$@"
