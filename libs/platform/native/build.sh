#!/usr/bin/env bash
# Builds libs/platform/native/build/librdkafka_batch_consumer.node (ingest's Kafka consumer, and the
# producer its outbox relay uses) with gcc against the system's librdkafka. Run by `npm run build`.
#   - headers missing: installs librdkafka-dev from Debian's packages when it can (root + apt-get);
#   - any failure: says why and exits 0, unless SHARDCAST_NATIVE=required (npm test, CI): ingest
#     then needs INGEST_KAFKA_CLIENT=kafkajs (its default `auto` falls back to it with a warning).
# Rebuilds only when the source, the Node headers' version or librdkafka's version changed.
set -uo pipefail
cd "$(dirname "$0")"
FALLBACK="ingest will use kafkajs instead (INGEST_KAFKA_CLIENT=auto)"
source ../../../scripts/native-addon.sh

if [[ ! -f /usr/include/librdkafka/rdkafka.h ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "[native] installing librdkafka-dev (Debian)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends librdkafka-dev >/dev/null 2>&1 ||
      { apt-get -o DPkg::Lock::Timeout=120 update -qq >/dev/null 2>&1 &&
        apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends librdkafka-dev >/dev/null 2>&1; } ||
      native_fail "apt-get install librdkafka-dev failed"
  else
    native_fail "librdkafka headers missing: apt-get install -y librdkafka-dev (or your distribution's librdkafka devel package)"
  fi
fi

rdkafka_version=$(grep -m1 -E '^#define RD_KAFKA_VERSION' /usr/include/librdkafka/rdkafka.h | awk '{print $3}')
build_native_addon librdkafka_batch_consumer "librdkafka-batch-consumer.c librdkafka-producer.c" "rdkafka=$rdkafka_version" -lrdkafka -lpthread
