#!/usr/bin/env bash
# Builds ingest's two N-API addons with gcc into libs/ingest-native/native/build/. Run by `npm run build`.
#   telemetry_scanner.node          the byte scanner and the record aggregator (needs only libm);
#   librdkafka_batch_consumer.node  the Kafka consumer and the outbox relay's producer (needs
#                                   librdkafka-dev: installed from Debian's packages when root).
# Two addons, not one: without librdkafka the scanner still builds (and its differential tests run).
# Any failure: says why and skips that addon (ingest falls back to TypeScript / kafkajs), unless
# SHARDCAST_NATIVE=required (npm test, CI): then the build fails.
# Each addon is rebuilt only when its sources, Node or (for the client) librdkafka's version changed.
#
# --sanitize: the same addons built with AddressSanitizer and UndefinedBehaviorSanitizer into
# build-asan/ (any UB aborts; the sanitizer canary is compiled in), for test-sanitized.sh. Loaded
# only when SHARDCAST_NATIVE_BUILD=asan and the ASan runtime is preloaded (docs/decisions/0018).
set -uo pipefail
cd "$(dirname "$0")"
build_dir=build
cflags=(-O2)
canary_source=""
if [[ ${1:-} == --sanitize ]]; then
  build_dir=build-asan
  cflags=(-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -DSHARDCAST_SANITIZED_BUILD)
  canary_source=sanitizer-canary.c
  export SHARDCAST_NATIVE=required # a sanitized run must not silently test nothing
elif [[ -n ${1:-} ]]; then
  echo "usage: $0 [--sanitize]" >&2
  exit 2
fi
# Says why; fails the build under SHARDCAST_NATIVE=required, else says what ingest does instead.
native_fail() {
  local reason=$1 fallback=$2
  echo "[native] $reason" >&2
  if [[ ${SHARDCAST_NATIVE:-} == required ]]; then exit 1; fi
  echo "[native] $fallback" >&2
}

node_include=""
for d in /usr/include/node "$(dirname "$(dirname "$(command -v node)")")/include/node"; do
  [[ -f $d/node_api.h ]] && { node_include=$d; break; }
done

# build_addon NAME "SOURCES" STAMP_EXTRA FALLBACK [LINK_FLAGS...]: compiles $build_dir/NAME.node
# unless $build_dir/NAME.stamp says its sources, flags, Node and STAMP_EXTRA are unchanged.
build_addon() {
  local name=$1 sources=$2 extra=$3 fallback=$4
  shift 4
  local out=$build_dir/$name.node stamp
  [[ -n $node_include ]] || { native_fail "node_api.h not found (/usr/include/node or beside node): install Node's headers" "$fallback"; return; }
  command -v gcc >/dev/null || { native_fail "gcc not found: apt-get install -y gcc" "$fallback"; return; }
  # shellcheck disable=SC2086 # SOURCES is a list of file names
  stamp="$(cat $sources ./*.h | sha256sum | cut -c1-16) flags=${cflags[*]} node=$(node -p 'process.versions.node') napi=$(node -p 'process.versions.napi') $extra"
  if [[ -f $out && -f $build_dir/$name.stamp && $(cat "$build_dir/$name.stamp") == "$stamp" ]]; then return 0; fi
  mkdir -p "$build_dir"
  # shellcheck disable=SC2086
  if ! gcc "${cflags[@]}" -Wall -Wextra -Werror -shared -fPIC -DNODE_GYP_MODULE_NAME="$name" -I"$node_include" $sources "$@" -o "$out.tmp" 2>"$build_dir/$name.gcc.log"; then
    cat "$build_dir/$name.gcc.log" >&2
    native_fail "gcc failed (log: $PWD/$build_dir/$name.gcc.log)" "$fallback"
    return
  fi
  mv "$out.tmp" "$out"
  echo "$stamp" > "$build_dir/$name.stamp"
  echo "[native] built $PWD/$out $extra" >&2
}

build_addon telemetry_scanner "telemetry-scanner.c telemetry-aggregator.c $canary_source" "" "ingest will scan telemetry in TypeScript instead" -lm

CLIENT_FALLBACK="ingest will use kafkajs instead (INGEST_KAFKA_CLIENT=auto)"
if [[ ! -f /usr/include/librdkafka/rdkafka.h ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "[native] installing librdkafka-dev (Debian)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends librdkafka-dev >/dev/null 2>&1 ||
      { apt-get -o DPkg::Lock::Timeout=120 update -qq >/dev/null 2>&1 &&
        apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends librdkafka-dev >/dev/null 2>&1; } ||
      native_fail "apt-get install librdkafka-dev failed" "$CLIENT_FALLBACK"
  else
    native_fail "librdkafka headers missing: apt-get install -y librdkafka-dev (or your distribution's librdkafka devel package)" "$CLIENT_FALLBACK"
  fi
fi
if [[ -f /usr/include/librdkafka/rdkafka.h ]]; then
  rdkafka_version=$(grep -m1 -E '^#define RD_KAFKA_VERSION' /usr/include/librdkafka/rdkafka.h | awk '{print $3}')
  build_addon librdkafka_batch_consumer "librdkafka-batch-consumer.c librdkafka-producer.c" "rdkafka=$rdkafka_version" "$CLIENT_FALLBACK" -lrdkafka -lpthread
fi
exit 0
