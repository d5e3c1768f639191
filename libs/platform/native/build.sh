#!/usr/bin/env bash
# Builds libs/platform/native/build/librdkafka_batch_consumer.node (ingest's Kafka consumer, and the
# producer its outbox relay uses) with gcc against the system's librdkafka. Run by `npm run build`.
#   - headers missing: installs librdkafka-dev from Debian's packages when it can (root + apt-get);
#   - any failure: says why and exits 0, unless SHARDCAST_NATIVE=required (npm test, CI): ingest
#     then needs INGEST_KAFKA_CLIENT=kafkajs (its default `auto` falls back to it with a warning).
# Rebuilds only when the source, the Node headers' version or librdkafka's version changed.
set -uo pipefail
cd "$(dirname "$0")"
SRC="librdkafka-batch-consumer.c librdkafka-producer.c"
OUT=build/librdkafka_batch_consumer.node

fail() {
  echo "[native] $*" >&2
  if [[ ${SHARDCAST_NATIVE:-} == required ]]; then exit 1; fi
  echo "[native] ingest will use kafkajs instead (INGEST_KAFKA_CLIENT=auto)" >&2
  exit 0
}

node_include=""
for d in /usr/include/node "$(dirname "$(dirname "$(command -v node)")")/include/node"; do
  [[ -f $d/node_api.h ]] && { node_include=$d; break; }
done
[[ -n $node_include ]] || fail "node_api.h not found (/usr/include/node or beside node): install Node's headers"
command -v gcc >/dev/null || fail "gcc not found: apt-get install -y gcc"

if [[ ! -f /usr/include/librdkafka/rdkafka.h ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "[native] installing librdkafka-dev (Debian)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends librdkafka-dev >/dev/null 2>&1 ||
      { apt-get -o DPkg::Lock::Timeout=120 update -qq >/dev/null 2>&1 &&
        apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends librdkafka-dev >/dev/null 2>&1; } ||
      fail "apt-get install librdkafka-dev failed"
  else
    fail "librdkafka headers missing: apt-get install -y librdkafka-dev (or your distribution's librdkafka devel package)"
  fi
fi

rdkafka_version=$(grep -m1 -E '^#define RD_KAFKA_VERSION' /usr/include/librdkafka/rdkafka.h | awk '{print $3}')
stamp="$(cat $SRC | sha256sum | cut -c1-16) node=$(node -p 'process.versions.node') napi=$(node -p 'process.versions.napi') rdkafka=$rdkafka_version"
if [[ -f $OUT && -f build/.stamp && $(cat build/.stamp) == "$stamp" ]]; then exit 0; fi
mkdir -p build
if ! gcc -O2 -Wall -Wextra -Werror -shared -fPIC -DNODE_GYP_MODULE_NAME=librdkafka_batch_consumer \
     -I"$node_include" $SRC -lrdkafka -lpthread -o "$OUT.tmp" 2>build/gcc.log; then
  cat build/gcc.log >&2
  fail "gcc failed (log: libs/platform/native/build/gcc.log)"
fi
mv "$OUT.tmp" "$OUT"
echo "$stamp" > build/.stamp
echo "[native] built $OUT (librdkafka $rdkafka_version)" >&2
