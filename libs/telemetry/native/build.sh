#!/usr/bin/env bash
# Builds libs/telemetry/native/build/telemetry_scanner.node (the byte scanner and the record
# aggregator in C) with gcc. Run
# by `npm run build`. Any failure: says why and exits 0 (ingest then scans in TypeScript), unless
# SHARDCAST_NATIVE=required (npm test, CI). Rebuilds only when the source or Node changed.
set -uo pipefail
cd "$(dirname "$0")"
FALLBACK="ingest will scan telemetry in TypeScript instead"
source ../../../scripts/native-addon.sh
build_native_addon telemetry_scanner "telemetry-scanner.c telemetry-aggregator.c" "" -lm
