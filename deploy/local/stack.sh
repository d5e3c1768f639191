#!/usr/bin/env bash
# Local development / CI stack for shardcast.
#
#   bash deploy/local/stack.sh up       # start Kafka, check PostgreSQL/Redis, install kcat, create topics,
#                                       # install and start the DNS servers (PowerDNS, Knot)
#   bash deploy/local/stack.sh down     # stop the Kafka and DNS servers this script started (PostgreSQL/Redis are left alone)
#   bash deploy/local/stack.sh status   # one line per component; non-zero exit if anything is down
#
# Kafka: a single KRaft node (broker+controller) run straight from Maven Central
# jars (deploy/local/kafka/pom.xml), no Docker, no tarball. PostgreSQL and Redis
# are the machine's own services; `up` only checks them (and starts them when
# running as root, because CI machines boot with nothing running).
#
# DNS (for dns-publisher): PowerDNS Authoritative (SQLite backend, HTTP API, LUA records) and
# Knot DNS (zone files, mod-geoip by client subnet), both from Debian packages (installed when
# missing, as root) and run as this script's own processes with state under $SHARDCAST_STACK_DIR.
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
#   SHARDCAST_STACK_DNS    "off" leaves the DNS servers out of up/down (default on)
#   PDNS_DNS_PORT          PowerDNS DNS port (UDP+TCP) on 127.0.0.1, default 5300
#   PDNS_API_PORT          PowerDNS HTTP API/webserver port on 127.0.0.1, default 8081
#   PDNS_API_KEY           PowerDNS API key (X-API-Key), default shardcast-local-api-key
#   KNOT_DNS_PORT          Knot DNS port (UDP+TCP) on 127.0.0.1, default 5301
#   DNS_START_TIMEOUT      seconds to wait for each DNS server to serve, default 20
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

DNS_SERVERS=${SHARDCAST_STACK_DNS:-on}
DNS_HOST=127.0.0.1
DNS_START_TIMEOUT=${DNS_START_TIMEOUT:-20}
PDNS_DNS_PORT=${PDNS_DNS_PORT:-5300}
PDNS_API_PORT=${PDNS_API_PORT:-8081}
# A fixed default, the same as docker-compose.yml's: the API listens on loopback only, and tests
# know it without reading files.
PDNS_API_KEY=${PDNS_API_KEY:-shardcast-local-api-key}
PDNS_API_URL=http://$DNS_HOST:$PDNS_API_PORT
PDNS_DIR=$STACK_DIR/pdns
PDNS_CONF=$PDNS_DIR/pdns.conf
PDNS_DB=$PDNS_DIR/pdns.sqlite3
PDNS_PID=$PDNS_DIR/pdns.pid
PDNS_LOG=$PDNS_DIR/pdns.log
PDNS_SQLITE_SCHEMA=/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql
KNOT_DNS_PORT=${KNOT_DNS_PORT:-5301}
KNOT_DIR=$STACK_DIR/knot
KNOT_CONF=$KNOT_DIR/knot.conf
KNOT_ZONES=$KNOT_DIR/zones
KNOT_ZONES_CONF_DIR=$KNOT_DIR/zones.d
KNOT_SOCKET=$KNOT_DIR/knot.sock
KNOT_PID=$KNOT_DIR/knot.pid
KNOT_LOG=$KNOT_DIR/knot.log
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
# Authoritative DNS servers for dns-publisher: PowerDNS and Knot (Debian packages)
# ---------------------------------------------------------------------------
#
# Both run as this script's own processes (as the user running it: ports above 1024 need no
# root, and the zone files providers write then belong to the same user), with config and data
# under the stack dir. A system pdns/knot the packages may have started is neither used nor touched.

# Debian package -> why it is here.
DNS_PACKAGES=(
  pdns-server          # PowerDNS Authoritative
  pdns-backend-sqlite3 # its zone store: the HTTP API creates/deletes zones in it
  pdns-backend-geoip   # its GeoIP backend (YAML zones, MaxMind DB): bench/dns-pdns-geoip.ts measures it as the geo mechanism
  mmdb-bin             # mmdblookup: checks the MaxMind DB that bench writes from our client subnet map
  sqlite3              # creates that database's schema once
  knot                 # Knot DNS (knotd, knotc)
  knot-module-geoip    # per-zone answers by client subnet (mode: subnet)
  dnsutils             # dig
  dnsperf              # load tests
  bind9-utils          # named-checkzone
)

# Missing packages, one per line (none: empty output).
dns_missing_packages() {
  local pkg
  for pkg in "${DNS_PACKAGES[@]}"; do
    [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) == "install ok installed" ]] || echo "$pkg"
  done
}

dns_tools_up() {
  command -v dpkg-query >/dev/null || { log "dns: not a Debian/Ubuntu machine; install PowerDNS 4.7+, Knot 3.2+ with its geoip module, dig, dnsperf, named-checkzone"; return 1; }
  local missing
  mapfile -t missing < <(dns_missing_packages)
  if ((${#missing[@]} == 0)); then
    log "dns tools: present (pdns $(pdns_version), knot $(knot_version))"
    return 0
  fi
  if ! is_root; then
    echo "[stack] dns tools: missing ${missing[*]}; install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    return 1
  fi
  log "dns tools: installing ${missing[*]} from apt..."
  # No daemon starts here (no systemd); where the packages do start system services, on port 53,
  # they are left alone: ours run on their own ports.
  if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 update -qq &&
     DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq "${missing[@]}" >/dev/null 9>&-; then
    log "dns tools: installed (pdns $(pdns_version), knot $(knot_version))"
  else
    echo "[stack] dns tools: apt-get install failed" >&2
    return 1
  fi
}

pdns_version() { pdns_server --version 2>&1 | sed -nE 's/.*PowerDNS Authoritative Server ([^ ]+).*/\1/p' | head -n 1; }
knot_version() { knotd --version 2>/dev/null | sed -nE 's/.*version ([^ ]+).*/\1/p' | head -n 1; }

# True when a DNS server answers on host:port (any rcode: REFUSED for a zone it lacks is an answer).
dns_answers() {
  command -v dig >/dev/null || { port_open "$1" "$2"; return; }
  dig @"$1" -p "$2" +time=1 +tries=1 +norecurse . SOA 2>/dev/null | grep -q 'status:'
}

# Prints the pid in pid file $1 if that process is alive and its command line contains $2
# (the config path, so neither a reused pid nor another stack dir's server is mistaken for ours).
daemon_pid() {
  [[ -f $1 ]] || return 1
  local pid
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" || return 1
  echo "$pid"
}

# start_daemon PIDFILE LOGFILE COMMAND...: in the foreground of its own session (see kafka_up),
# so the pid file holds the server's own pid and its output goes to LOGFILE.
start_daemon() {
  local pid_file=$1 log_file=$2
  shift 2
  rm -f "$pid_file"
  echo "==== $(date -u +%FT%TZ) stack.sh starting $1 ====" >>"$log_file"
  # shellcheck disable=SC2016  # $$ is the inner shell's
  setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$pid_file" "$@" >>"$log_file" 2>&1 </dev/null 9>&- &
  for _ in $(seq 50); do [[ -s $pid_file ]] && break; sleep 0.1; done
  [[ -s $pid_file ]] || die "$1 launcher did not write $pid_file"
}

# wait_for NAME PID LOGFILE TIMEOUT CHECK...: until CHECK succeeds; the log tail if it never does.
wait_for() {
  local name=$1 pid=$2 log_file=$3 deadline=$((SECONDS + $4))
  shift 4
  while ! "$@"; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      echo "[stack] ---- last 30 lines of $log_file ----" >&2
      tail -n 30 "$log_file" >&2
      kill -0 "$pid" 2>/dev/null && { log "$name: not serving after ${DNS_START_TIMEOUT}s (pid $pid left running; 'stack.sh down' stops it)"; return 1; }
      log "$name: exited during startup"
      return 1
    fi
    sleep 0.2
  done
}

# stop_daemon NAME PIDFILE CMDLINE-MARK HOST PORT
stop_daemon() {
  local name=$1 pid_file=$2 mark=$3 pid
  if ! pid=$(daemon_pid "$pid_file" "$mark"); then
    rm -f "$pid_file"
    if port_open "$4" "$5"; then
      log "$name: something serves $4:$5 but this script did not start it; not touching it"
    else
      log "$name: not running, nothing to stop"
    fi
    return 0
  fi
  log "$name: stopping pid $pid..."
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 15))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name: still alive after 15s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file"
  log "$name: stopped"
}

# --- PowerDNS --------------------------------------------------------------

pdns_api_answers() {
  curl -sf -m 2 -o /dev/null -H "X-API-Key: $PDNS_API_KEY" "$PDNS_API_URL/api/v1/servers/localhost"
}
pdns_serves() { dns_answers "$DNS_HOST" "$PDNS_DNS_PORT" && pdns_api_answers; }

write_pdns_conf() {
  mkdir -p "$PDNS_DIR/run"
  # Regenerated on every start so port/key changes apply; the database is what persists.
  cat >"$PDNS_CONF" <<EOF
# Generated by deploy/local/stack.sh -- edit the script, not this file.
# Zones live in SQLite: the HTTP API can create, change and delete them there (the bind
# backend's zones cannot be created through the API).
launch=gsqlite3
gsqlite3-database=$PDNS_DB
# A local dev store: no fsync per API write.
gsqlite3-pragma-synchronous=0

local-address=$DNS_HOST:$PDNS_DNS_PORT
socket-dir=$PDNS_DIR/run
daemon=no
guardian=no
disable-syslog=yes
log-timestamp=yes
# No internet here: no security-status query to the outside.
security-poll-suffix=

api=yes
api-key=$PDNS_API_KEY
webserver=yes
webserver-address=$DNS_HOST
webserver-port=$PDNS_API_PORT
webserver-allow-from=127.0.0.1,::1

# LUA records (geo answers by client subnet). 'shared': one Lua state for all records, ~1.7x a
# static answer's cost here instead of ~36x with a fresh state per query ('yes').
enable-lua-records=shared
# Answer by the EDNS Client Subnet a resolver sends, not by the resolver's own address.
edns-subnet-processing=yes
EOF
}

pdns_up() {
  local pid
  if pid=$(daemon_pid "$PDNS_PID" "$PDNS_DIR"); then
    # Started earlier with other ports or another key: it would never answer as asked.
    if ! grep -qxF "api-key=$PDNS_API_KEY" "$PDNS_CONF" || ! grep -qxF "local-address=$DNS_HOST:$PDNS_DNS_PORT" "$PDNS_CONF" ||
       ! grep -qxF "webserver-port=$PDNS_API_PORT" "$PDNS_CONF"; then
      log "pdns: running (pid $pid) with other ports or another API key than asked; 'stack.sh down' then 'up' applies them"
      return 1
    fi
    if pdns_serves; then
      log "pdns: already running on $DNS_HOST:$PDNS_DNS_PORT, API $PDNS_API_URL (pid $pid), nothing to do"
      return 0
    fi
    log "pdns: pid $pid is running but not serving yet; waiting..."
    wait_for pdns "$pid" "$PDNS_LOG" "$DNS_START_TIMEOUT" pdns_serves || return 1
    log "pdns: up on $DNS_HOST:$PDNS_DNS_PORT, API $PDNS_API_URL (pid $pid)"
    return 0
  fi
  if port_open "$DNS_HOST" "$PDNS_DNS_PORT"; then
    if pdns_serves; then
      log "pdns: already serving on $DNS_HOST:$PDNS_DNS_PORT with API $PDNS_API_URL (not started by this stack dir), leaving it alone"
      return 0
    fi
    log "pdns: something on $DNS_HOST:$PDNS_DNS_PORT is not PowerDNS with our API key; free the port or set PDNS_DNS_PORT"
    return 1
  fi
  if port_open "$DNS_HOST" "$PDNS_API_PORT"; then
    log "pdns: API port $DNS_HOST:$PDNS_API_PORT is already in use; set PDNS_API_PORT"
    return 1
  fi

  write_pdns_conf
  if [[ ! -s $PDNS_DB ]]; then
    # Temp file + mv: a half-created schema never looks like a database.
    sqlite3 "$PDNS_DB.tmp" <"$PDNS_SQLITE_SCHEMA" || { rm -f "$PDNS_DB.tmp"; log "pdns: could not create $PDNS_DB"; return 1; }
    mv -f "$PDNS_DB.tmp" "$PDNS_DB"
    log "pdns: created zone database $PDNS_DB"
  fi
  log "pdns: starting on $DNS_HOST:$PDNS_DNS_PORT (UDP+TCP), API $PDNS_API_URL, state $PDNS_DIR..."
  start_daemon "$PDNS_PID" "$PDNS_LOG" pdns_server --config-dir="$PDNS_DIR"
  pid=$(<"$PDNS_PID")
  wait_for pdns "$pid" "$PDNS_LOG" "$DNS_START_TIMEOUT" pdns_serves || return 1
  log "pdns: up on $DNS_HOST:$PDNS_DNS_PORT, API $PDNS_API_URL (pid $pid; log $PDNS_LOG)"
}

# --- Knot --------------------------------------------------------------------

knot_serves() { dns_answers "$DNS_HOST" "$KNOT_DNS_PORT" && knotc -s "$KNOT_SOCKET" -t 2 status >/dev/null 2>&1; }

write_knot_conf() {
  mkdir -p "$KNOT_DIR/run" "$KNOT_DIR/db" "$KNOT_ZONES" "$KNOT_ZONES_CONF_DIR"
  cat >"$KNOT_CONF" <<EOF
# Generated by deploy/local/stack.sh -- edit the script, not this file.
server:
    rundir: "$KNOT_DIR/run"
    pidfile: "$KNOT_DIR/run/knotd.pid"
    listen: $DNS_HOST@$KNOT_DNS_PORT
    # Answer by the EDNS Client Subnet (mod-geoip matches it in place of the resolver's address).
    edns-client-subnet: on

database:
    storage: "$KNOT_DIR/db"

control:
    listen: "$KNOT_SOCKET"

log:
  - target: "$KNOT_LOG"
    any: info

# Zone files are the source of truth: <zone>.zone under zones/, loaded whole on every reload,
# never rewritten by the server, no journal to replay over them.
template:
  - id: default
    storage: "$KNOT_ZONES"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none

# One file per zone (its zone: section, and its mod-geoip: section if it has geo answers),
# written by the dns-publisher provider; 'knotc reload' applies additions and removals.
include: "$KNOT_ZONES_CONF_DIR/*.conf"
EOF
}

knot_up() {
  local pid
  if pid=$(daemon_pid "$KNOT_PID" "$KNOT_CONF"); then
    if ! grep -qF "listen: $DNS_HOST@$KNOT_DNS_PORT" "$KNOT_CONF"; then
      log "knot: running (pid $pid) on another port than asked; 'stack.sh down' then 'up' applies it"
      return 1
    fi
    if knot_serves; then
      log "knot: already running on $DNS_HOST:$KNOT_DNS_PORT (pid $pid), nothing to do"
      return 0
    fi
    log "knot: pid $pid is running but not serving yet; waiting..."
    wait_for knot "$pid" "$KNOT_LOG" "$DNS_START_TIMEOUT" knot_serves || return 1
    log "knot: up on $DNS_HOST:$KNOT_DNS_PORT (pid $pid)"
    return 0
  fi
  if port_open "$DNS_HOST" "$KNOT_DNS_PORT"; then
    if dns_answers "$DNS_HOST" "$KNOT_DNS_PORT"; then
      log "knot: a DNS server already serves $DNS_HOST:$KNOT_DNS_PORT (not started by this stack dir), leaving it alone"
      return 0
    fi
    log "knot: something on $DNS_HOST:$KNOT_DNS_PORT does not answer DNS; free the port or set KNOT_DNS_PORT"
    return 1
  fi

  write_knot_conf
  local check
  if ! check=$(knotc -c "$KNOT_CONF" conf-check 2>&1); then
    echo "$check" >&2
    log "knot: configuration invalid (a zone file under ${KNOT_ZONES_CONF_DIR#"$STACK_DIR"/}?)"
    return 1
  fi
  log "knot: starting on $DNS_HOST:$KNOT_DNS_PORT (UDP+TCP), control $KNOT_SOCKET, state $KNOT_DIR..."
  start_daemon "$KNOT_PID" "$KNOT_LOG" knotd -c "$KNOT_CONF"
  pid=$(<"$KNOT_PID")
  wait_for knot "$pid" "$KNOT_LOG" "$DNS_START_TIMEOUT" knot_serves || return 1
  log "knot: up on $DNS_HOST:$KNOT_DNS_PORT (pid $pid; log $KNOT_LOG)"
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
  if [[ $DNS_SERVERS != off ]]; then
    if dns_tools_up; then
      pdns_up || problems+=(pdns)
      knot_up || problems+=(knot)
    else
      problems+=(dns-tools)
    fi
  fi
  if ((${#problems[@]})); then
    die "stack is up except: ${problems[*]} (see messages above)"
  fi
  log "stack is up"
}

cmd_down() {
  take_lock
  kafka_down
  if [[ $DNS_SERVERS != off ]]; then
    stop_daemon pdns "$PDNS_PID" "$PDNS_DIR" "$DNS_HOST" "$PDNS_DNS_PORT"
    stop_daemon knot "$KNOT_PID" "$KNOT_CONF" "$DNS_HOST" "$KNOT_DNS_PORT"
  fi
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

  [[ $DNS_SERVERS == off ]] && return "$rc"
  if command -v pdns_server >/dev/null && pdns_serves; then
    if pid=$(daemon_pid "$PDNS_PID" "$PDNS_DIR"); then detail="pid $pid, started by stack.sh"; else detail="not started by this stack dir"; fi
    line pdns up "$DNS_HOST:$PDNS_DNS_PORT, API $PDNS_API_URL ($detail)"
  else
    line pdns down "$DNS_HOST:$PDNS_DNS_PORT, API $PDNS_API_URL"; rc=1
  fi
  if command -v knotc >/dev/null && knot_serves; then
    if pid=$(daemon_pid "$KNOT_PID" "$KNOT_CONF"); then detail="pid $pid, started by stack.sh"; else detail="not started by this stack dir"; fi
    line knot up "$DNS_HOST:$KNOT_DNS_PORT, control $KNOT_SOCKET ($detail)"
  elif dns_answers "$DNS_HOST" "$KNOT_DNS_PORT"; then
    line knot up "$DNS_HOST:$KNOT_DNS_PORT (not started by this stack dir: no control socket $KNOT_SOCKET)"
  else
    line knot down "$DNS_HOST:$KNOT_DNS_PORT"; rc=1
  fi
  local missing_tools=''
  command -v dpkg-query >/dev/null && missing_tools=$(dns_missing_packages | tr '\n' ' ')
  if [[ -z $missing_tools ]]; then
    line dns-tools up "dig, dnsperf, named-checkzone, knotc"
  else
    line dns-tools down "missing: $missing_tools"; rc=1
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
