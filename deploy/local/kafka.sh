#!/usr/bin/env bash
# deploy/local/kafka.sh — run a real single-node Apache Kafka broker (KRaft mode,
# combined broker+controller) on 127.0.0.1 for development, tests and CI.
# No docker, no tarball: the broker jars come from Maven Central via `mvn` and
# deploy/local/kafka-pom.xml, and are cached outside the repo.
#
# Usage:  deploy/local/kafka.sh start|stop|status|tool MAIN_CLASS [ARGS...]|produce TOPIC
#
#   start   Idempotent. Starts the broker if nothing answers on the port yet,
#           waits until it is really ready, and prints the bootstrap address
#           (127.0.0.1:$KAFKA_PORT) as the only line on stdout. Safe to call
#           from several processes at once (flock). Exit 0 = ready.
#   stop    Stops the broker this script started on $KAFKA_PORT (and only it).
#   status  Prints "running ..." / "not running ..."; exit 0 / 1 accordingly.
#   tool    Runs a Kafka command-line tool class with the cached jars.
#   produce Kafka's console producer: each stdin line becomes one record of TOPIC
#           (on $KAFKA_BROKERS if set, else this script's broker).
#
# Environment:
#   KAFKA_PORT             PLAINTEXT listener port               (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener port        (default KAFKA_PORT+1)
#   KAFKA_VERSION          org.apache.kafka:kafka_2.13 version   (default 4.4.0)
#   SOCMETRICS_KAFKA_HOME  cache dir (jars, per-port data/logs)
#                          (default ~/.cache/socmetrics/kafka-$KAFKA_VERSION)
#   KAFKA_HEAP_OPTS        broker heap                           (default -Xmx1G -Xms256m)
#   KAFKA_START_TIMEOUT    seconds to wait for readiness         (default 90)
#   KAFKA_JAVA             java binary (>= 17); else $JAVA_HOME/bin/java, else `java`
#
# Layout of the cache dir:
#   libs/                      jars (downloaded once; libs/.complete marks success)
#   port-<PORT>/server.properties, log4j2.properties, cluster.id, kafka.pid, lock
#   port-<PORT>/data/          KRaft metadata + topic data (log.dirs)
#   port-<PORT>/logs/          server.log (broker log4j2 output), broker.out (JVM stdout/stderr)
#
# Progress goes to stderr; stdout carries only the bootstrap address (start).

set -euo pipefail

# ---------------------------------------------------------------- settings --
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
POM="$SCRIPT_DIR/kafka-pom.xml"

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx1G -Xms256m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"

KHOME="${SOCMETRICS_KAFKA_HOME:-${HOME:-/tmp}/.cache/socmetrics/kafka-$KAFKA_VERSION}"
LIBS="$KHOME/libs"
PORT_DIR="$KHOME/port-$KAFKA_PORT"
DATA_DIR="$PORT_DIR/data"
LOG_DIR="$PORT_DIR/logs"
PROPS="$PORT_DIR/server.properties"
LOG4J_BROKER="$PORT_DIR/log4j2.properties"
LOG4J_TOOLS="$KHOME/tools-log4j2.properties"
CLUSTER_ID_FILE="$PORT_DIR/cluster.id"
PID_FILE="$PORT_DIR/kafka.pid"
LOCK_FILE="$PORT_DIR/lock"
BOOTSTRAP="127.0.0.1:$KAFKA_PORT"

# ----------------------------------------------------------------- helpers --
log() { printf 'kafka.sh[%s]: %s\n' "$KAFKA_PORT" "$*" >&2; }
die() { log "error: $*"; exit 1; }

validate_ports() {
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    [[ "$p" =~ ^[0-9]+$ ]] && ((p > 0 && p < 65536)) || die "invalid port '$p'"
  done
  [[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ"
}

# java_major BIN -> prints the major version (8, 11, 17, 25, ...) or nothing.
java_major() {
  local v
  v="$("$1" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)" || true
  [[ -n "$v" ]] || return 0
  if [[ "$v" == 1.* ]]; then v="${v#1.}"; fi
  printf '%s\n' "${v%%[.+-]*}"
}

# Pick a Java >= 17 (Kafka 4.x brokers and tools are compiled for Java 17).
find_java() {
  local cand m
  for cand in "${KAFKA_JAVA:-}" "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" \
              /usr/lib/jvm/*/bin/java; do
    [[ -n "$cand" && -x "$cand" ]] || continue
    m="$(java_major "$cand")"
    if [[ -n "$m" ]] && ((m >= 17)); then JAVA="$cand"; return 0; fi
  done
  die "no Java >= 17 found (set KAFKA_JAVA or JAVA_HOME)"
}

# Plain TCP connect check (no JVM): is anything listening on 127.0.0.1:$1?
port_open() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# Real Kafka API check: list topics through the admin client.
kafka_api_ok() {
  timeout 40 "$JAVA" -Xmx256m -Dlog4j2.configurationFile="$LOG4J_TOOLS" -cp "$LIBS/*" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --list \
    >/dev/null 2>&1
}

# Is $1 a live java kafka.Kafka process running *our* server.properties?
is_our_broker() {
  local pid="$1" cmd
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  cmd="$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" || return 1
  [[ "$cmd" == *java* && "$cmd" == *" kafka.Kafka $PROPS"* ]]
}

# Prints the pid of our broker for this port, or nothing. The pid file is the
# primary source; /proc is scanned as a fallback (lost/stale pid file).
broker_pid() {
  local pid="" p
  [[ -f "$PID_FILE" ]] && pid="$(tr -dc '0-9' <"$PID_FILE")"
  if [[ -n "$pid" ]] && is_our_broker "$pid"; then echo "$pid"; return 0; fi
  for p in /proc/[0-9]*; do
    p="${p#/proc/}"
    if is_our_broker "$p"; then echo "$p"; return 0; fi
  done
  return 0
}

# Take the per-port lock (fd 9) so concurrent start/stop calls serialize.
take_lock() {
  mkdir -p "$PORT_DIR"
  exec 9>>"$LOCK_FILE"
  if ! flock -n 9; then
    log "waiting for lock $LOCK_FILE (another kafka.sh is running)"
    flock -w 600 9 || die "timed out waiting for $LOCK_FILE"
  fi
}

# -------------------------------------------------------------- downloads --
ensure_libs() {
  [[ -f "$LIBS/.complete" ]] && return 0
  mkdir -p "$KHOME"
  exec 8>>"$KHOME/download.lock"
  flock -w 900 8 || die "timed out waiting for $KHOME/download.lock"
  if [[ ! -f "$LIBS/.complete" ]]; then
    command -v mvn >/dev/null || die "mvn not found (needed once to fetch the Kafka jars)"
    [[ -f "$POM" ]] || die "missing $POM"
    local tmp="$KHOME/libs.tmp.$$" t0=$SECONDS
    rm -rf "$tmp"
    log "downloading Kafka $KAFKA_VERSION jars with mvn into $LIBS (one-time)"
    if ! mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
         -Dkafka.version="$KAFKA_VERSION" -DincludeScope=runtime \
         -DoutputDirectory="$tmp" >&2; then
      rm -rf "$tmp"; die "mvn dependency:copy-dependencies failed"
    fi
    ls "$tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "kafka_2.13 jar missing after mvn"; }
    touch "$tmp/.complete"
    rm -rf "$LIBS"
    mv "$tmp" "$LIBS"
    log "jars ready ($(ls "$LIBS" | wc -l) files, $((SECONDS - t0))s)"
  fi
  exec 8>&-
}

# ------------------------------------------------------------------ config --
write_configs() {
  mkdir -p "$DATA_DIR" "$LOG_DIR"

  cat >"$PROPS.tmp" <<EOF
# Generated by deploy/local/kafka.sh — single-node KRaft broker for development.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# KIP-848 consumer groups: notice a dead member in seconds, not the 45 s default.
group.consumer.min.session.timeout.ms=6000
group.consumer.session.timeout.ms=10000
group.consumer.min.heartbeat.interval.ms=1000
group.consumer.heartbeat.interval.ms=2000
auto.create.topics.enable=true
delete.topic.enable=true
num.network.threads=2
num.io.threads=4
EOF
  mv "$PROPS.tmp" "$PROPS"

  cat >"$LOG4J_BROKER" <<'EOF'
# Generated by deploy/local/kafka.sh — broker logs go to ${sys:kafka.logs.dir}/server.log
status = warn
name = socmetrics-kafka-broker
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
EOF

  cat >"$LOG4J_TOOLS.tmp.$$" <<'EOF'
# Generated by deploy/local/kafka.sh — CLI tools: warnings only, to stderr
status = warn
name = socmetrics-kafka-tools
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
  mv "$LOG4J_TOOLS.tmp.$$" "$LOG4J_TOOLS"
}

# Random Kafka cluster id: 16 random bytes, URL-safe base64 without padding.
new_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* && "$id" != "AAAAAAAAAAAAAAAAAAAAAA" && "$id" != "AAAAAAAAAAAAAAAAAAAAAQ" ]] && break
  done
  echo "$id"
}

meta_value() { sed -n "s/^$1=//p" "$DATA_DIR/meta.properties" 2>/dev/null | head -n1; }

# Output is only shown when formatting fails (it is a wall of bootstrap records).
format_storage() {
  local out
  if out="$("$JAVA" -Xmx256m -Dlog4j2.configurationFile="$LOG4J_TOOLS" -cp "$LIBS/*" \
             kafka.tools.StorageTool format -t "$(cat "$CLUSTER_ID_FILE")" -c "$PROPS" 2>&1)"; then
    return 0
  fi
  printf '%s\n' "$out" >&2
  return 1
}

# Format the KRaft storage unless it already belongs to our cluster id/node.
ensure_formatted() {
  [[ -s "$CLUSTER_ID_FILE" ]] || new_cluster_id >"$CLUSTER_ID_FILE"
  local cid; cid="$(cat "$CLUSTER_ID_FILE")"
  if [[ -f "$DATA_DIR/meta.properties" ]]; then
    if [[ "$(meta_value cluster.id)" == "$cid" && "$(meta_value node.id)" == "1" ]]; then
      return 0
    fi
    log "meta.properties does not match cluster.id $cid / node.id 1; wiping $DATA_DIR"
    rm -rf "$DATA_DIR"; mkdir -p "$DATA_DIR"
  fi
  log "formatting KRaft storage in $DATA_DIR (cluster.id $cid)"
  if ! format_storage; then
    log "format failed; wiping $DATA_DIR with a fresh cluster id and retrying"
    rm -rf "$DATA_DIR"; mkdir -p "$DATA_DIR"
    new_cluster_id >"$CLUSTER_ID_FILE"
    format_storage || die "kafka storage format failed"
  fi
}

# ---------------------------------------------------------------- commands --
log_tail() {
  local f
  for f in "$LOG_DIR/broker.out" "$LOG_DIR/server.log"; do
    [[ -s "$f" ]] || continue
    echo "----- tail of $f -----" >&2
    tail -n 40 "$f" >&2
  done
}

cmd_start() {
  validate_ports
  find_java
  take_lock

  # Fast path: already up (ours, or some other Kafka on that port).
  local pid; pid="$(broker_pid)"
  if [[ -n "$pid" ]] && port_open "$KAFKA_PORT"; then
    log "already running (pid $pid)"
    echo "$pid" >"$PID_FILE"   # heal a lost/stale pid file
    echo "$BOOTSTRAP"; return 0
  fi

  ensure_libs

  if [[ -z "$pid" ]] && port_open "$KAFKA_PORT"; then
    if kafka_api_ok; then
      log "a Kafka broker not started by this script already answers on $BOOTSTRAP; using it"
      echo "$BOOTSTRAP"; return 0
    fi
    die "port $KAFKA_PORT is in use by something that is not a Kafka broker"
  fi
  if [[ -z "$pid" ]] && port_open "$KAFKA_CONTROLLER_PORT"; then
    die "controller port $KAFKA_CONTROLLER_PORT is already in use (set KAFKA_CONTROLLER_PORT)"
  fi

  if [[ -z "$pid" ]]; then
    rm -f "$PID_FILE"   # stale, if any
    write_configs
    ensure_formatted

    # Keep the previous run's logs around once, start the new ones fresh.
    local f
    for f in server.log broker.out; do
      if [[ -f "$LOG_DIR/$f" ]]; then mv -f "$LOG_DIR/$f" "$LOG_DIR/$f.prev"; fi
    done

    log "starting Kafka $KAFKA_VERSION on $BOOTSTRAP (controller 127.0.0.1:$KAFKA_CONTROLLER_PORT, logs $LOG_DIR)"
    # New session so the broker survives the caller; fds 8/9 (locks) closed so
    # the broker does not keep holding them; stdio detached from the caller.
    # shellcheck disable=SC2086
    nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
      "$JAVA" $KAFKA_HEAP_OPTS -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
      -Djava.awt.headless=true \
      -Dkafka.logs.dir="$LOG_DIR" -Dlog4j2.configurationFile="$LOG4J_BROKER" \
      -cp "$LIBS/*" kafka.Kafka "$PROPS" \
      </dev/null >>"$LOG_DIR/broker.out" 2>&1 8>&- 9>&- &
    local waited=0
    while [[ ! -s "$PID_FILE" ]] && ((waited < 50)); do sleep 0.1; waited=$((waited + 1)); done
    pid="$(tr -dc '0-9' <"$PID_FILE" 2>/dev/null || true)"
    [[ -n "$pid" ]] || { log_tail; die "broker process did not start"; }
  else
    log "broker process $pid exists but is not answering yet; waiting for it"
  fi

  # Wait for real readiness: log line, open port, then an admin-API round trip.
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT)) t0=$SECONDS
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log_tail; rm -f "$PID_FILE"; die "broker (pid $pid) exited during startup"
    fi
    if grep -q "Kafka Server started" "$LOG_DIR/server.log" 2>/dev/null && port_open "$KAFKA_PORT"; then
      if kafka_api_ok; then break; fi
    fi
    if ((SECONDS >= deadline)); then
      log_tail; die "broker (pid $pid) not ready after ${KAFKA_START_TIMEOUT}s (left running; see $LOG_DIR)"
    fi
    sleep 0.5
  done
  log "ready after $((SECONDS - t0))s (pid $pid)"
  echo "$BOOTSTRAP"
}

cmd_stop() {
  validate_ports
  take_lock
  local pid; pid="$(broker_pid)"
  if [[ -z "$pid" ]]; then
    [[ -f "$PID_FILE" ]] && log "removing stale pid file"
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  log "stopping broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 600; i++)); do          # up to 60s for a clean shutdown
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still alive after 60s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_status() {
  validate_ports
  local pid; pid="$(broker_pid)"
  if [[ -n "$pid" ]] && port_open "$KAFKA_PORT"; then
    echo "running (pid $pid) on $BOOTSTRAP"; return 0
  fi
  if [[ -n "$pid" ]]; then
    echo "not running: broker process $pid exists but does not answer on $BOOTSTRAP"; return 1
  fi
  if port_open "$KAFKA_PORT"; then
    echo "not running (by this script); something else listens on $BOOTSTRAP"; return 1
  fi
  echo "not running"; return 1
}

# Runs one of Kafka's own command-line tools (a main class of the cached jars), e.g.
#   kafka.sh tool org.apache.kafka.tools.ConsoleProducer --bootstrap-server 127.0.0.1:9092 --topic t
cmd_tool() {
  [[ $# -ge 1 ]] || die "usage: $0 tool MAIN_CLASS [ARGS...]"
  find_java
  take_lock
  ensure_libs
  [[ -f "$LOG4J_TOOLS" ]] || write_configs
  exec 9>&-
  exec "$JAVA" -Xmx256m -Dlog4j2.configurationFile="$LOG4J_TOOLS" -cp "$LIBS/*" "$@"
}

# Kafka's console producer: one record per stdin line, to TOPIC on this broker.
cmd_produce() {
  [[ $# -eq 1 ]] || die "usage: $0 produce TOPIC < records.jsonl"
  cmd_tool org.apache.kafka.tools.ConsoleProducer --bootstrap-server "${KAFKA_BROKERS:-$BOOTSTRAP}" --topic "$1"
}

case "${1:-}" in
  start)   cmd_start ;;
  stop)    cmd_stop ;;
  status)  cmd_status ;;
  tool)    shift; cmd_tool "$@" ;;
  produce) shift; cmd_produce "$@" ;;
  *) echo "usage: $0 start|stop|status|tool MAIN_CLASS [ARGS...]|produce TOPIC" >&2; exit 2 ;;
esac
