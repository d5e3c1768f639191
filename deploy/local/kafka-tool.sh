#!/usr/bin/env bash
# Run one of Kafka's own Java tools from the classpath cached by stack.sh.
#
#   deploy/local/kafka-tool.sh <MainClass> [args...]
#
# e.g.
#   deploy/local/kafka-tool.sh org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9092 --list
#   deploy/local/kafka-tool.sh org.apache.kafka.tools.ConsumerPerformance --bootstrap-server 127.0.0.1:9092 \
#       --topic t --messages 100000
#   deploy/local/kafka-tool.sh org.apache.kafka.tools.ProducerPerformance --topic t --num-records 100000 \
#       --record-size 200 --throughput -1 --producer-props bootstrap.servers=127.0.0.1:9092
#
# Tool logging is WARN+ on stderr (kafka/log4j2-tools.properties), so stdout carries only
# the tool's own output. KAFKA_TOOL_LOG_LEVEL=INFO|DEBUG raises it; KAFKA_TOOL_OPTS
# replaces the JVM options (default -Xmx512m). Needs no running broker itself; the first
# call on a fresh machine resolves the jars with Maven (see stack.sh).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi

cp_file=$(bash "$SCRIPT_DIR/stack.sh" classpath)

# shellcheck disable=SC2086  # KAFKA_TOOL_OPTS is intentionally word-split
exec java ${KAFKA_TOOL_OPTS:--Xmx512m} \
  -Dlog4j2.configurationFile="$SCRIPT_DIR/kafka/log4j2-tools.properties" \
  -cp "$(<"$cp_file")" "$@"
