#!/usr/bin/env bash
# Local development / CI stack for shardcast.
#
#   bash deploy/local/stack.sh up       # start Kafka, check PostgreSQL/Redis, install kcat, create topics
#   bash deploy/local/stack.sh down     # stop the Kafka this script started (PostgreSQL/Redis are left alone)
#   bash deploy/local/stack.sh status   # one line per component; non-zero exit if anything is down
#
# Kafka: a single KRaft node (broker+controller) run straight from Maven Central
# jars (deploy/local/kafka/pom.xml), no Docker, no tarball. PostgreSQL and Redis
# are the machine's own services; `up` only checks them (and starts them when
# running as root, because CI machines boot with nothing running).
#
# Environment:
#   SHARDCAST_STACK_DIR    state dir (Kafka data, logs, pid, classpath cache); default <repo>/.stack
#   KAFKA_PORT             broker port, default 9092
#   KAFKA_CONTROLLER_PORT  KRaft controller port, default 9093
#   KAFKA_HEAP_OPTS        broker heap, default "-Xms512m -Xmx1g"
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to serve, default 60
#   KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL, default 30
#   DATABASE_URL           postgres://user:pass@host:port/db; default db "shardcast" on 127.0.0.1:5432 as postgres
#   REDIS_PORT             default 6379
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
STACK_DIR=${SHARDCAST_STACK_DIR:-$REPO_ROOT/.stack}

KAFKA_HOST=127.0.0.1
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms512m -Xmx1g}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-60}
KAFKA_STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}
KAFKA_BOOTSTRAP=$KAFKA_HOST:$KAFKA_PORT

KAFKA_POM=$SCRIPT_DIR/kafka/pom.xml
KAFKA_LOG4J_BROKER=$SCRIPT_DIR/kafka/log4j2-broker.properties
KAFKA_LOG4J_TOOLS=$SCRIPT_DIR/kafka/log4j2-tools.properties
KAFKA_DIR=$STACK_DIR/kafka
KAFKA_DATA=$KAFKA_DIR/data
KAFKA_LOGS=$KAFKA_DIR/logs
KAFKA_CONF=$KAFKA_DIR/server.properties
KAFKA_PID=$KAFKA_DIR/kafka.pid
KAFKA_FORMAT_STAMP=$KAFKA_DIR/formatted-controller-port
CP_FILE=$KAFKA_DIR/classpath.txt
CP_STAMP=$KAFKA_DIR/classpath.pom.sha256

REDIS_PORT=${REDIS_PORT:-6379}
ENSURE_TOPICS_JS=$REPO_ROOT/libs/platform/dist/scripts/ensure-topics.js

log() { echo "[stack] $*"; }
die() { echo "[stack] ERROR: $*" >&2; exit 1; }
is_root() { [[ $(id -u) -eq 0 ]]; }

# ---------------------------------------------------------------------------
# Kafka classpath (cached; re-resolved only when the pom changes or a jar vanished)
# ---------------------------------------------------------------------------

classpath_is_fresh() {
  [[ -s $CP_FILE && -f $CP_STAMP ]] || return 1
  [[ $(<"$CP_STAMP") == "$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)" ]] || return 1
  local jar jars
  IFS=: read -r -a jars <"$CP_FILE"
  for jar in "${jars[@]}"; do [[ -f $jar ]] || return 1; done
}

ensure_classpath() {
  classpath_is_fresh && return 0
  command -v mvn >/dev/null || die "mvn not found (needed once to fetch the Kafka jars): apt-get install -y maven"
  mkdir -p "$KAFKA_DIR"
  log "resolving Kafka classpath with Maven (the first time this downloads ~80 MB into ~/.m2)..."
  local sum tmp mvn_log=$KAFKA_DIR/mvn.log
  sum=$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)
  # Unique temp name + mv: parallel kafka-tool.sh calls may resolve at the same time.
  tmp=$CP_FILE.$$.tmp
  if ! mvn -q -B -Dstyle.color=never -f "$KAFKA_POM" dependency:build-classpath \
        -Dmdep.outputFile="$tmp" >"$mvn_log" 2>&1; then
    tail -n 40 "$mvn_log" >&2 || true
    rm -f "$tmp"
    die "Maven could not resolve $KAFKA_POM (full output: $mvn_log)"
  fi
  mv -f "$tmp" "$CP_FILE"
  echo "$sum" >"$CP_STAMP"
  log "classpath cached in $CP_FILE"
}

# Run a Kafka tool main class quietly (log4j WARN+ to stderr).
kafka_tool() {
  java -Xmx512m -Dlog4j2.configurationFile="$KAFKA_LOG4J_TOOLS" -cp "$(<"$CP_FILE")" "$@"
}

# ---------------------------------------------------------------------------
# Kafka process helpers
# ---------------------------------------------------------------------------

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# Prints the pid of the broker this script started, if it is still alive.
# Checks the command line too, so a stale pid file never makes us signal a reused pid.
kafka_pid() {
  [[ -f $KAFKA_PID ]] || return 1
  local pid
  pid=$(<"$KAFKA_PID")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' || return 1
  echo "$pid"
}

# A real request, not just an open port: the broker must answer a metadata/list call.
kafka_answers() {
  local secs=${1:-20}
  timeout "$secs" java -Xmx256m -Dlog4j2.configurationFile="$KAFKA_LOG4J_TOOLS" -cp "$(<"$CP_FILE")" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" --list >/dev/null 2>&1
}

show_kafka_log_tail() {
  local f
  # kafka.out last: JVM-level failures (bad flags, OOM, missing class) only show up there.
  for f in "$KAFKA_LOGS/server.log" "$KAFKA_LOGS/kafka.out"; do
    [[ -s $f ]] || continue
    echo "[stack] ---- last 40 lines of $f ----" >&2
    tail -n 40 "$f" >&2
  done
}

write_server_properties() {
  mkdir -p "$KAFKA_DATA" "$KAFKA_LOGS"
  # Regenerated on every start so port/env changes apply; the data dir is what persists.
  cat >"$KAFKA_CONF" <<EOF
# Generated by deploy/local/stack.sh -- edit the script, not this file.
process.roles=broker,controller
node.id=1
# KRaft with a dynamic quorum: 'format --standalone' refuses controller.quorum.voters,
# so the single controller is found via the bootstrap servers instead.
controller.quorum.bootstrap.servers=$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT

log.dirs=$KAFKA_DATA
num.partitions=6
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false

# Single node: every internal topic must fit on one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Consumers in tests join immediately instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
EOF
}

format_storage_once() {
  if [[ -f $KAFKA_DATA/meta.properties ]]; then
    # The controller endpoint is baked into the KRaft voter set at format time.
    local was
    was=$(cat "$KAFKA_FORMAT_STAMP" 2>/dev/null || echo "$KAFKA_CONTROLLER_PORT")
    [[ $was == "$KAFKA_CONTROLLER_PORT" ]] ||
      die "Kafka storage was formatted with controller port $was, now $KAFKA_CONTROLLER_PORT; use the old port or wipe $KAFKA_DIR/data"
    return 0
  fi
  local cluster_id
  cluster_id=$(kafka_tool kafka.tools.StorageTool random-uuid)
  log "formatting Kafka storage (cluster id $cluster_id)..."
  kafka_tool kafka.tools.StorageTool format --standalone \
    --cluster-id "$cluster_id" --config "$KAFKA_CONF" >"$KAFKA_LOGS/format.log" 2>&1 ||
    { cat "$KAFKA_LOGS/format.log" >&2; die "kafka storage format failed"; }
  echo "$KAFKA_CONTROLLER_PORT" >"$KAFKA_FORMAT_STAMP"
}

wait_for_kafka() {
  local pid=$1 deadline=$((SECONDS + KAFKA_START_TIMEOUT)) left
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_kafka_log_tail
      die "Kafka (pid $pid) exited during startup"
    fi
    left=$((deadline - SECONDS))
    if ((left <= 0)); then
      show_kafka_log_tail
      die "Kafka did not serve on $KAFKA_BOOTSTRAP within ${KAFKA_START_TIMEOUT}s (still running as pid $pid; 'stack.sh down' stops it)"
    fi
    # Cheap port probe first; only then pay for a JVM running a real admin request.
    if port_open "$KAFKA_HOST" "$KAFKA_PORT" && kafka_answers $((left < 5 ? 5 : left)); then
      return 0
    fi
    sleep 1
  done
}

kafka_up() {
  local pid
  ensure_classpath
  if pid=$(kafka_pid); then
    if port_open "$KAFKA_HOST" "$KAFKA_PORT" && kafka_answers 10; then
      log "kafka: already running on $KAFKA_BOOTSTRAP (pid $pid), nothing to do"
      return 0
    fi
    log "kafka: pid $pid is running but not serving yet; waiting..."
    wait_for_kafka "$pid"
    log "kafka: up on $KAFKA_BOOTSTRAP (pid $pid)"
    return 0
  fi
  rm -f "$KAFKA_PID"

  if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
    kafka_answers 15 ||
      die "something is listening on $KAFKA_BOOTSTRAP but does not answer as Kafka; free the port or set KAFKA_PORT"
    log "kafka: already serving on $KAFKA_BOOTSTRAP (not started by this script), leaving it alone"
    return 0
  fi
  port_open "$KAFKA_HOST" "$KAFKA_CONTROLLER_PORT" &&
    die "controller port $KAFKA_HOST:$KAFKA_CONTROLLER_PORT is already in use; set KAFKA_CONTROLLER_PORT"

  write_server_properties
  format_storage_once

  log "kafka: starting on $KAFKA_BOOTSTRAP (controller :$KAFKA_CONTROLLER_PORT, state $KAFKA_DIR)..."
  local started=$SECONDS
  echo "==== $(date -u +%FT%TZ) stack.sh starting kafka ====" >>"$KAFKA_LOGS/kafka.out"
  # setsid+nohup: own session, so neither Ctrl-C in the calling terminal nor the end of
  # the npm/CI step's process group takes the broker down. The inner shell writes its
  # own pid and then execs java, so the pid file holds the JVM's pid exactly.
  # shellcheck disable=SC2086,SC2016  # KAFKA_HEAP_OPTS is word-split on purpose; $$ is the inner shell's
  setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$KAFKA_PID" \
    java $KAFKA_HEAP_OPTS -server \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dkafka.logs.dir="$KAFKA_LOGS" -Dlog4j2.configurationFile="$KAFKA_LOG4J_BROKER" \
    -cp "$(<"$CP_FILE")" kafka.Kafka "$KAFKA_CONF" \
    >>"$KAFKA_LOGS/kafka.out" 2>&1 </dev/null 9>&- &

  for _ in $(seq 50); do [[ -s $KAFKA_PID ]] && break; sleep 0.1; done
  [[ -s $KAFKA_PID ]] || die "Kafka launcher did not write $KAFKA_PID"
  pid=$(<"$KAFKA_PID")
  wait_for_kafka "$pid"
  log "kafka: up on $KAFKA_BOOTSTRAP (pid $pid, ready in $((SECONDS - started))s; logs in $KAFKA_LOGS)"
}

kafka_down() {
  local pid
  if ! pid=$(kafka_pid); then
    rm -f "$KAFKA_PID"
    if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
      log "kafka: something serves $KAFKA_BOOTSTRAP but this script did not start it; not touching it"
    else
      log "kafka: not running, nothing to stop"
    fi
    return 0
  fi
  log "kafka: stopping pid $pid (SIGTERM, up to ${KAFKA_STOP_TIMEOUT}s)..."
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    log "kafka: still alive after ${KAFKA_STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
  rm -f "$KAFKA_PID"
  log "kafka: stopped"
}

# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------

# Sets PG_DB, PG_HOST, PG_PORT and PG_ADMIN (a libpq connection string to the maintenance db).
pg_settings() {
  if [[ -n ${DATABASE_URL:-} ]]; then
    local parsed
    # Node's URL parser handles %-escapes, passwords and ?params properly.
    parsed=$(node -e '
      const u = new URL(process.env.DATABASE_URL);
      const db = decodeURIComponent(u.pathname.replace(/^\//, "")) || "shardcast";
      const host = u.hostname || "127.0.0.1";
      const port = u.port || "5432";
      u.pathname = "/postgres";
      console.log([db, host, port, u.toString()].join("\n"));') || die "cannot parse DATABASE_URL"
    { read -r PG_DB; read -r PG_HOST; read -r PG_PORT; read -r PG_ADMIN; } <<<"$parsed"
  else
    PG_DB=shardcast
    PG_HOST=127.0.0.1
    PG_PORT=5432
    PG_ADMIN="host=127.0.0.1 port=5432 user=postgres dbname=postgres"
  fi
}

pg_ready() { pg_isready -q -d "$PG_ADMIN" >/dev/null 2>&1; }
pg_local() { [[ $PG_HOST == 127.0.0.1 || $PG_HOST == localhost || $PG_HOST == ::1 || $PG_HOST == "[::1]" ]]; }

pg_start_hint() {
  # shellcheck disable=SC2016  # printed literally for the user to run
  echo '[stack]   start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' >&2
}

# Returns non-zero (after explaining) if PostgreSQL is not usable.
postgres_up() {
  pg_settings
  command -v pg_isready >/dev/null || { log "postgres: pg_isready not found (apt-get install -y postgresql-client)"; return 1; }
  if ! pg_ready; then
    if pg_local && is_root && [[ -d /etc/postgresql ]]; then
      local ver
      # shellcheck disable=SC2012  # entries are PostgreSQL major versions (15, 16, ...)
      ver=$(ls /etc/postgresql | sort -V | tail -n 1)
      log "postgres: down; starting cluster $ver/main (running as root)..."
      # 9>&-: the daemon must not inherit our lock fd (see take_lock).
      pg_ctlcluster --skip-systemctl-redirect "$ver" main start 9>&- || true
      for _ in $(seq 30); do pg_ready && break; sleep 0.5; done
    fi
    if ! pg_ready; then
      echo "[stack] postgres: NOT reachable ($PG_HOST:$PG_PORT)" >&2
      pg_start_hint
      return 1
    fi
  fi
  # \gexec runs the generated CREATE only if the db is missing; :'db' / %I quote the name safely.
  psql -X -q -v ON_ERROR_STOP=1 -v db="$PG_DB" -d "$PG_ADMIN" >/dev/null <<'SQL' || { log "postgres: could not create database"; return 1; }
SELECT format('CREATE DATABASE %I', :'db') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
  log "postgres: up ($PG_HOST:$PG_PORT), database '$PG_DB' present"
}

pg_db_exists() {
  [[ $(psql -X -tA -v db="$PG_DB" -d "$PG_ADMIN" 2>/dev/null <<<"SELECT 1 FROM pg_database WHERE datname = :'db'") == 1 ]]
}

# ---------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------

REDIS_START_CMD=(redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no
  --dir /var/lib/redis --logfile /var/log/redis/ci.log)

redis_ready() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

redis_up() {
  command -v redis-cli >/dev/null || { log "redis: redis-cli not found (apt-get install -y redis-server)"; return 1; }
  if ! redis_ready; then
    if is_root && command -v redis-server >/dev/null; then
      log "redis: down; starting redis-server on 127.0.0.1:$REDIS_PORT (running as root)..."
      mkdir -p /var/lib/redis /var/log/redis
      "${REDIS_START_CMD[@]}" 9>&- || true
      for _ in $(seq 20); do redis_ready && break; sleep 0.25; done
    fi
    if ! redis_ready; then
      echo "[stack] redis: NOT reachable on 127.0.0.1:$REDIS_PORT" >&2
      echo "[stack]   start it with: redis-server --daemonize yes --bind 127.0.0.1 -::1 --port $REDIS_PORT --save \"\" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log" >&2
      return 1
    fi
  fi
  log "redis: up (127.0.0.1:$REDIS_PORT)"
}

# ---------------------------------------------------------------------------
# kcat
# ---------------------------------------------------------------------------

# "Version 1.7.1 (JSON, ..., librdkafka 2.0.2 builtin.features=...)" -> "1.7.1, librdkafka 2.0.2"
kcat_version() {
  kcat -V 2>/dev/null | sed -nE 's/^Version ([^ ]+) .*librdkafka ([^ ]+).*/\1, librdkafka \2/p' | head -n 1
}

kcat_up() {
  if command -v kcat >/dev/null; then
    log "kcat: present ($(kcat_version))"
    return 0
  fi
  if ! is_root; then
    echo "[stack] kcat: missing; install it with: sudo apt-get update && sudo apt-get install -y kcat" >&2
    return 1
  fi
  log "kcat: missing; installing from apt..."
  # apt-get update only when we actually install something; wait for a concurrent apt's lock.
  if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 update -qq &&
     DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq kcat >/dev/null; then
    log "kcat: installed ($(kcat_version))"
  else
    echo "[stack] kcat: apt-get install failed" >&2
    return 1
  fi
}

# ---------------------------------------------------------------------------
# Topics (owned by the platform lib, not by this script)
# ---------------------------------------------------------------------------

ensure_topics() {
  if [[ ! -f $ENSURE_TOPICS_JS ]]; then
    log "topics: ${ENSURE_TOPICS_JS#"$REPO_ROOT"/} not built yet (npm run build); skipping topic creation"
    return 0
  fi
  log "topics: running node ${ENSURE_TOPICS_JS#"$REPO_ROOT"/}..."
  (cd "$REPO_ROOT" && KAFKA_BROKERS=${KAFKA_BROKERS:-$KAFKA_BOOTSTRAP} node "$ENSURE_TOPICS_JS") ||
    die "ensure-topics.js failed"
}

# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------

# Serialises concurrent up/down runs on the same state dir (two parallel `up`s would
# otherwise both launch a broker and clobber each other's pid file). fd 9 is closed
# in the broker's launch line so the JVM does not inherit (and hold) the lock.
take_lock() {
  mkdir -p "$KAFKA_DIR"
  exec 9>"$KAFKA_DIR/stack.lock"
  flock -w 120 9 || die "another stack.sh up/down holds $KAFKA_DIR/stack.lock"
}

cmd_up() {
  local problems=()
  take_lock
  kcat_up || problems+=(kcat)
  postgres_up || problems+=(postgres)
  redis_up || problems+=(redis)
  kafka_up
  ensure_topics
  if ((${#problems[@]})); then
    die "stack is up except: ${problems[*]} (see messages above)"
  fi
  log "stack is up"
}

cmd_down() {
  take_lock
  kafka_down
  log "postgres/redis are machine services and were left running"
}

cmd_status() {
  local rc=0 pid detail
  line() { printf '[stack] %-9s %-5s %s\n' "$1" "$2" "$3"; }

  # kafka: a metadata round trip via kcat when available (fast), else just the port.
  if port_open "$KAFKA_HOST" "$KAFKA_PORT" &&
     { ! command -v kcat >/dev/null || timeout 10 kcat -b "$KAFKA_BOOTSTRAP" -L -m 5 >/dev/null 2>&1; }; then
    if pid=$(kafka_pid); then detail="pid $pid, started by stack.sh"; else detail="not started by stack.sh"; fi
    line kafka up "$KAFKA_BOOTSTRAP ($detail)"
  else
    line kafka down "$KAFKA_BOOTSTRAP"; rc=1
  fi

  pg_settings
  if command -v pg_isready >/dev/null && pg_ready; then
    if pg_db_exists; then detail="database '$PG_DB' present"; else detail="database '$PG_DB' MISSING (run stack:up)"; fi
    line postgres up "$PG_HOST:$PG_PORT, $detail"
  else
    line postgres down "$PG_HOST:$PG_PORT"; rc=1
  fi

  if command -v redis-cli >/dev/null && redis_ready; then
    line redis up "127.0.0.1:$REDIS_PORT"
  else
    line redis down "127.0.0.1:$REDIS_PORT"; rc=1
  fi

  if command -v kcat >/dev/null; then
    line kcat up "$(command -v kcat) ($(kcat_version))"
  else
    line kcat down "not installed"; rc=1
  fi
  return "$rc"
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  # Internal, used by kafka-tool.sh: make sure the cached classpath exists, print its file.
  classpath) ensure_classpath >&2 && echo "$CP_FILE" ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
