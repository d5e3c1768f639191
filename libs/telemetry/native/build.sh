#!/usr/bin/env bash
# Builds libs/telemetry/native/build/telemetry_scanner.node (the byte scanner in C) with gcc. Run
# by `npm run build`. Any failure: says why and exits 0 (ingest then scans in TypeScript), unless
# SHARDCAST_NATIVE=required (npm test, CI). Rebuilds only when the source or Node changed.
set -uo pipefail
cd "$(dirname "$0")"
SRC=telemetry-scanner.c
OUT=build/telemetry_scanner.node

fail() {
  echo "[native] $*" >&2
  if [[ ${SHARDCAST_NATIVE:-} == required ]]; then exit 1; fi
  echo "[native] ingest will scan telemetry in TypeScript instead" >&2
  exit 0
}

node_include=""
for d in /usr/include/node "$(dirname "$(dirname "$(command -v node)")")/include/node"; do
  [[ -f $d/node_api.h ]] && { node_include=$d; break; }
done
[[ -n $node_include ]] || fail "node_api.h not found (/usr/include/node or beside node): install Node's headers"
command -v gcc >/dev/null || fail "gcc not found: apt-get install -y gcc"

stamp="$(sha256sum "$SRC" | cut -c1-16) node=$(node -p 'process.versions.node') napi=$(node -p 'process.versions.napi')"
if [[ -f $OUT && -f build/.stamp && $(cat build/.stamp) == "$stamp" ]]; then exit 0; fi
mkdir -p build
if ! gcc -O2 -Wall -Wextra -Werror -shared -fPIC -DNODE_GYP_MODULE_NAME=telemetry_scanner \
     -I"$node_include" "$SRC" -o "$OUT.tmp" 2>build/gcc.log; then
  cat build/gcc.log >&2
  fail "gcc failed (log: libs/telemetry/native/build/gcc.log)"
fi
mv "$OUT.tmp" "$OUT"
echo "$stamp" > build/.stamp
echo "[native] built $OUT" >&2
