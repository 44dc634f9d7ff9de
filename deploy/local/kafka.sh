#!/usr/bin/env bash
# deploy/local/kafka.sh — run a real single-node Apache Kafka broker (KRaft mode,
# combined broker+controller) on 127.0.0.1 for development, tests and CI.
# No docker, no tarball: the broker jars come from Maven Central via `mvn` and
# deploy/local/kafka-pom.xml, and are cached outside the repo.
#
# The broker always has three client listeners:
#   PLAINTEXT  127.0.0.1:$KAFKA_PORT            no TLS, no authentication
#   SASL_SSL   127.0.0.1:$KAFKA_SASL_SSL_PORT   TLS + SASL SCRAM-SHA-512, user $KAFKA_SCRAM_USER
#   MTLS       127.0.0.1:$KAFKA_MTLS_PORT       TLS with a required client certificate
#                                               (security protocol SSL, ssl.client.auth=required)
# Inter-broker and controller traffic stays PLAINTEXT. The CA, the broker's PKCS12
# keystore/truststore and a client certificate + key (PEM, for librdkafka) are made
# once with openssl and keytool (SAN IP:127.0.0.1, DNS:localhost); the SCRAM password
# is random, made once, and kept in a file (mode 600). `secure-env` tells where.
#
# Usage:  deploy/local/kafka.sh start|stop|status|secure-env|tool MAIN_CLASS [ARGS...]|produce TOPIC
#
#   start   Idempotent. Starts the broker if nothing answers on the port yet,
#           waits until it is really ready on all three listeners (an admin
#           round trip on each: PLAINTEXT, SASL_SSL with SCRAM, mTLS), and prints
#           the bootstrap address (127.0.0.1:$KAFKA_PORT) as the only line on
#           stdout. Safe to call from several processes at once (flock). Exit 0 =
#           ready. A broker of this port started by an older kafka.sh (no secure
#           listeners) is reported, not waited for: exit 1, restart it with
#           `kafka.sh stop && kafka.sh start`.
#   stop    Stops the broker this script started on $KAFKA_PORT (and only it).
#   status  Prints "running ..." / "not running ..."; exit 0 / 1 accordingly.
#   secure-env
#           Prints shell-sourceable KEY='value' lines: the secure endpoints, the CA,
#           client certificate and key files, the SCRAM user and the file holding its
#           password, e.g.  eval "$(deploy/local/kafka.sh secure-env)"
#           Exit 1 (and nothing on stdout) unless the secure listeners answer.
#   tool    Runs a Kafka command-line tool class with the cached jars.
#   produce Kafka's console producer: each stdin line becomes one record of TOPIC
#           (on $KAFKA_BROKERS if set, else this script's broker).
#
# Environment:
#   KAFKA_PORT             PLAINTEXT listener port               (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener port        (default KAFKA_PORT+1)
#   KAFKA_SASL_SSL_PORT    SASL_SSL (SCRAM-SHA-512) listener     (default KAFKA_PORT+2)
#   KAFKA_MTLS_PORT        mTLS listener                         (default KAFKA_PORT+3)
#   KAFKA_SCRAM_USER       the SCRAM user made at start          (default socmetrics)
#   KAFKA_VERSION          org.apache.kafka:kafka_2.13 version   (default 4.4.0)
#   SOCMETRICS_KAFKA_HOME  cache dir (jars, per-port data/logs)
#                          (default ~/.cache/socmetrics/kafka-$KAFKA_VERSION)
#   KAFKA_HEAP_OPTS        broker heap                           (default -Xmx1G -Xms256m)
#   KAFKA_START_TIMEOUT    seconds to wait for readiness         (default 90)
#   KAFKA_JAVA             java binary (>= 17); else $JAVA_HOME/bin/java, else `java`
#                          (keytool is taken from the same JDK, else from PATH)
#
# Layout of the cache dir:
#   libs/                      jars (downloaded once; libs/.complete marks success)
#   port-<PORT>/server.properties, log4j2.properties, cluster.id, kafka.pid, lock
#   port-<PORT>/data/          KRaft metadata + topic data (log.dirs)
#   port-<PORT>/logs/          server.log (broker log4j2 output), broker.out (JVM stdout/stderr)
#   port-<PORT>/scram.password the SCRAM user's password (mode 600, made once)
#   port-<PORT>/scram.applied  which cluster/user/password the credential was set for
#   port-<PORT>/client-sasl-ssl.properties, client-mtls.properties
#                              Java client configs (--command-config of Kafka's tools)
#   port-<PORT>/tls/           (made once; tls/.complete marks success; delete tls/ to renew)
#     ca.pem, ca.key           the local CA
#     broker.p12, truststore.p12, store.password
#                              broker keystore (key + chain) and truststore (the CA), PKCS12
#     client.pem, client.key   client certificate (CN=socmetrics) and key, PEM (librdkafka)
#     client.p12               the same as PKCS12 (Java clients)
#
# Progress goes to stderr; stdout carries only the bootstrap address (start)
# or the secure-env lines.

set -euo pipefail

# ---------------------------------------------------------------- settings --
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
POM="$SCRIPT_DIR/kafka-pom.xml"

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_SASL_SSL_PORT="${KAFKA_SASL_SSL_PORT:-$((KAFKA_PORT + 2))}"
KAFKA_MTLS_PORT="${KAFKA_MTLS_PORT:-$((KAFKA_PORT + 3))}"
KAFKA_SCRAM_USER="${KAFKA_SCRAM_USER:-socmetrics}"
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
SASL_SSL_BOOTSTRAP="127.0.0.1:$KAFKA_SASL_SSL_PORT"
MTLS_BOOTSTRAP="127.0.0.1:$KAFKA_MTLS_PORT"
SCRAM_MECHANISM="SCRAM-SHA-512"
SCRAM_PASSWORD_FILE="$PORT_DIR/scram.password"
SCRAM_MARKER="$PORT_DIR/scram.applied"
SASL_CLIENT_PROPS="$PORT_DIR/client-sasl-ssl.properties"
MTLS_CLIENT_PROPS="$PORT_DIR/client-mtls.properties"
TLS_DIR="$PORT_DIR/tls"

# ----------------------------------------------------------------- helpers --
log() { printf 'kafka.sh[%s]: %s\n' "$KAFKA_PORT" "$*" >&2; }
die() { log "error: $*"; exit 1; }

validate_ports() {
  local p seen=" "
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$KAFKA_SASL_SSL_PORT" "$KAFKA_MTLS_PORT"; do
    [[ "$p" =~ ^[0-9]+$ ]] && ((p > 0 && p < 65536)) || die "invalid port '$p'"
    [[ "$seen" != *" $p "* ]] || die "KAFKA_PORT, KAFKA_CONTROLLER_PORT, KAFKA_SASL_SSL_PORT and KAFKA_MTLS_PORT must differ ($p twice)"
    seen+="$p "
  done
  [[ "$KAFKA_SCRAM_USER" =~ ^[A-Za-z0-9._-]+$ ]] || die "invalid KAFKA_SCRAM_USER '$KAFKA_SCRAM_USER'"
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

# Real Kafka API check on one listener (plaintext|sasl_ssl|mtls): list topics
# through the admin client; over SASL_SSL that is TLS + SCRAM login, over mTLS
# TLS with our client certificate, both verifying the broker's certificate.
kafka_api_ok() {
  local args
  case "$1" in
    plaintext) args=(--bootstrap-server "$BOOTSTRAP") ;;
    sasl_ssl)  args=(--bootstrap-server "$SASL_SSL_BOOTSTRAP" --command-config "$SASL_CLIENT_PROPS") ;;
    mtls)      args=(--bootstrap-server "$MTLS_BOOTSTRAP" --command-config "$MTLS_CLIENT_PROPS") ;;
    *) die "kafka_api_ok: unknown listener $1" ;;
  esac
  timeout 40 "$JAVA" -Xmx256m -Dlog4j2.configurationFile="$LOG4J_TOOLS" -cp "$LIBS/*" \
    org.apache.kafka.tools.TopicCommand "${args[@]}" --list >/dev/null 2>&1
}

# kafka_api_ok on each listener given, in parallel (one JVM each); 0 when all pass.
# The names of those that failed are left in FAILED_LISTENERS.
FAILED_LISTENERS=""
listeners_ok() {
  local i pids=()
  for i in "$@"; do kafka_api_ok "$i" & pids+=("$!"); done
  FAILED_LISTENERS=""
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || FAILED_LISTENERS+="${FAILED_LISTENERS:+ }${*:i+1:1}"
  done
  [[ -z "$FAILED_LISTENERS" ]]
}

# Do the broker's settings (server.properties of the running broker: it is only
# rewritten while none runs) have the secure listeners on the current ports?
props_have_secure_listeners() {
  grep -q "^listeners=.*SASL_SSL://127\.0\.0\.1:$KAFKA_SASL_SSL_PORT\(,\|$\)" "$PROPS" 2>/dev/null &&
    grep -q "^listeners=.*MTLS://127\.0\.0\.1:$KAFKA_MTLS_PORT\(,\|$\)" "$PROPS" 2>/dev/null
}

old_broker_message() {
  echo "the broker on $BOOTSTRAP (pid $1) has no SASL_SSL listener on $SASL_SSL_BOOTSTRAP and mTLS listener on $MTLS_BOOTSTRAP: it was started by an older kafka.sh (or with other KAFKA_SASL_SSL_PORT/KAFKA_MTLS_PORT); restart it: $0 stop && $0 start"
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

# ------------------------------------------------------ TLS and SCRAM secrets --
# keytool of the JDK running the broker (it makes the truststore: a PKCS12 file of
# trusted certificates that Java accepts, which openssl 3.0 cannot write).
find_keytool() {
  local cand
  for cand in "$(dirname "$(readlink -f "$JAVA")")/keytool" "$(command -v keytool || true)"; do
    if [[ -n "$cand" && -x "$cand" ]]; then KEYTOOL="$cand"; return 0; fi
  done
  die "keytool not found (it comes with the JDK; needed once to make the broker's truststore)"
}

# 48 hex characters (192 bits): nothing any config syntax would need to quote.
random_secret() { openssl rand -hex 24; }

# The certificate requests' config, independent of the system's openssl.cnf.
write_openssl_cnf() {
  cat >"$1" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = socmetrics local Kafka CA
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
}

# Makes the CA, the broker's and the client's keys and certificates, the PKCS12
# stores, in directory $1. Every step's output goes to $1/make.log.
make_tls() {
  local d="$1" name
  step() { "$@" >>"$d/make.log" 2>&1 || { log "failed: $*"; return 1; }; }
  write_openssl_cnf "$d/openssl.cnf" || return 1
  random_secret >"$d/store.password" || return 1
  step openssl req -x509 -new -config "$d/openssl.cnf" -extensions ca -sha256 -days 3650 \
    -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" || return 1
  for name in broker client; do
    local cn="localhost" ext="server"
    [[ "$name" == client ]] && { cn="$KAFKA_SCRAM_USER"; ext="client"; }
    step openssl req -new -config "$d/openssl.cnf" -subj "/CN=$cn" -sha256 \
      -newkey rsa:2048 -nodes -keyout "$d/$name.key" -out "$d/$name.csr" || return 1
    step openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
      -set_serial "0x$(openssl rand -hex 16)" -sha256 -days 3650 \
      -extfile "$d/openssl.cnf" -extensions "$ext" -out "$d/$name.pem" || return 1
    step openssl pkcs12 -export -in "$d/$name.pem" -inkey "$d/$name.key" -certfile "$d/ca.pem" \
      -name "$name" -out "$d/$name.p12" -passout "file:$d/store.password" || return 1
  done
  step openssl verify -CAfile "$d/ca.pem" "$d/broker.pem" "$d/client.pem" || return 1
  step "$KEYTOOL" -importcert -noprompt -alias socmetrics-local-ca -file "$d/ca.pem" \
    -keystore "$d/truststore.p12" -storetype PKCS12 -storepass:file "$d/store.password" || return 1
  rm -f "$d"/*.csr "$d/make.log"
  chmod 600 "$d"/*.key "$d"/*.p12 "$d/store.password"
}

# The TLS material under $TLS_DIR, made once (caller holds the lock).
ensure_tls() {
  [[ -f "$TLS_DIR/.complete" ]] && return 0
  command -v openssl >/dev/null || die "openssl not found (needed once to make the TLS material)"
  find_keytool
  local tmp="$TLS_DIR.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"; chmod 700 "$tmp"
  log "making a local CA and the broker and client certificates in $TLS_DIR (one-time)"
  if ! make_tls "$tmp"; then
    cat "$tmp/make.log" >&2 2>/dev/null || true
    rm -rf "$tmp"; die "could not make the TLS material"
  fi
  touch "$tmp/.complete"
  rm -rf "$TLS_DIR"
  mv "$tmp" "$TLS_DIR"
}

# The SCRAM user's password, made once (mode 600).
ensure_scram_password() {
  [[ -s "$SCRAM_PASSWORD_FILE" ]] && return 0
  (umask 077 && random_secret >"$SCRAM_PASSWORD_FILE.tmp.$$")
  mv "$SCRAM_PASSWORD_FILE.tmp.$$" "$SCRAM_PASSWORD_FILE"
  log "made the SCRAM password of user $KAFKA_SCRAM_USER: $SCRAM_PASSWORD_FILE"
}

scram_password() { head -n1 "$SCRAM_PASSWORD_FILE" | tr -d '\r\n'; }

# The credential is in the cluster metadata: remember for which cluster id, user
# and password it was set, so a restart does not set it again.
scram_marker_value() {
  printf '%s %s %s %s\n' "$(cat "$CLUSTER_ID_FILE")" "$KAFKA_SCRAM_USER" "$SCRAM_MECHANISM" \
    "$(scram_password | sha256sum | cut -d' ' -f1)"
}
scram_applied() { [[ -f "$SCRAM_MARKER" && "$(cat "$SCRAM_MARKER")" == "$(scram_marker_value)" ]]; }
mark_scram_applied() { scram_marker_value >"$SCRAM_MARKER"; }

# Sets the SCRAM credential through the running broker (kafka-configs) unless the
# storage was formatted with it (--add-scram) or it was set before: a data dir
# formatted by an older kafka.sh gets it here.
ensure_scram_user() {
  scram_applied && return 0
  log "setting the $SCRAM_MECHANISM credential of user $KAFKA_SCRAM_USER (kafka-configs)"
  local out
  if ! out="$(timeout 60 "$JAVA" -Xmx256m -Dlog4j2.configurationFile="$LOG4J_TOOLS" -cp "$LIBS/*" \
               org.apache.kafka.tools.ConfigCommand --bootstrap-server "$BOOTSTRAP" --alter \
               --entity-type users --entity-name "$KAFKA_SCRAM_USER" \
               --add-config "$SCRAM_MECHANISM=[password=$(scram_password)]" 2>&1)"; then
    printf '%s\n' "$out" >&2
    return 1
  fi
  mark_scram_applied
}

# ------------------------------------------------------------------ config --
write_configs() {
  mkdir -p "$DATA_DIR" "$LOG_DIR"
  local store_password; store_password="$(head -n1 "$TLS_DIR/store.password")"

  (umask 077 && : >"$PROPS.tmp")   # it holds the store password
  cat >"$PROPS.tmp" <<EOF
# Generated by deploy/local/kafka.sh — single-node KRaft broker for development.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_SSL_PORT,MTLS://127.0.0.1:$KAFKA_MTLS_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_SSL_PORT,MTLS://127.0.0.1:$KAFKA_MTLS_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,MTLS:SSL
# TLS (both secure listeners): the broker's key + chain, and the CA clients' certificates must chain to.
ssl.keystore.type=PKCS12
ssl.keystore.location=$TLS_DIR/broker.p12
ssl.keystore.password=$store_password
ssl.key.password=$store_password
ssl.truststore.type=PKCS12
ssl.truststore.location=$TLS_DIR/truststore.p12
ssl.truststore.password=$store_password
# SASL_SSL: SCRAM-SHA-512 logins, credentials in the cluster metadata.
sasl.enabled.mechanisms=$SCRAM_MECHANISM
listener.name.sasl_ssl.sasl.enabled.mechanisms=$SCRAM_MECHANISM
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
# MTLS (security protocol SSL): no connection without a client certificate of our CA.
listener.name.mtls.ssl.client.auth=required
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

  # Java client configs for the secure listeners (readiness checks, Kafka's tools).
  (umask 077 && cat >"$SASL_CLIENT_PROPS.tmp" <<EOF
# Generated by deploy/local/kafka.sh — Java client config for $SASL_SSL_BOOTSTRAP
security.protocol=SASL_SSL
sasl.mechanism=$SCRAM_MECHANISM
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$KAFKA_SCRAM_USER" password="$(scram_password)";
ssl.truststore.type=PKCS12
ssl.truststore.location=$TLS_DIR/truststore.p12
ssl.truststore.password=$store_password
EOF
  )
  mv "$SASL_CLIENT_PROPS.tmp" "$SASL_CLIENT_PROPS"
  (umask 077 && cat >"$MTLS_CLIENT_PROPS.tmp" <<EOF
# Generated by deploy/local/kafka.sh — Java client config for $MTLS_BOOTSTRAP
security.protocol=SSL
ssl.truststore.type=PKCS12
ssl.truststore.location=$TLS_DIR/truststore.p12
ssl.truststore.password=$store_password
ssl.keystore.type=PKCS12
ssl.keystore.location=$TLS_DIR/client.p12
ssl.keystore.password=$store_password
ssl.key.password=$store_password
EOF
  )
  mv "$MTLS_CLIENT_PROPS.tmp" "$MTLS_CLIENT_PROPS"

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

  write_tools_log4j
}

# Kafka's command-line tools: warnings only, to stderr (no broker config needed).
write_tools_log4j() {
  mkdir -p "$KHOME"
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
# The SCRAM user's credential goes into the new metadata log (--add-scram).
format_storage() {
  local out
  if out="$("$JAVA" -Xmx256m -Dlog4j2.configurationFile="$LOG4J_TOOLS" -cp "$LIBS/*" \
             kafka.tools.StorageTool format -t "$(cat "$CLUSTER_ID_FILE")" -c "$PROPS" \
             --add-scram "$SCRAM_MECHANISM=[name=$KAFKA_SCRAM_USER,password=$(scram_password)]" 2>&1)"; then
    mark_scram_applied
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

  local pid; pid="$(broker_pid)"
  # Ours, but without the secure listeners: it will never answer on them; say so.
  if [[ -n "$pid" ]] && ! props_have_secure_listeners; then
    die "$(old_broker_message "$pid")"
  fi

  # Fast path: already up on every listener, the SCRAM user set.
  if [[ -n "$pid" ]] && port_open "$KAFKA_PORT" && port_open "$KAFKA_SASL_SSL_PORT" \
     && port_open "$KAFKA_MTLS_PORT" && scram_applied; then
    log "already running (pid $pid; SASL_SSL $SASL_SSL_BOOTSTRAP, mTLS $MTLS_BOOTSTRAP)"
    echo "$pid" >"$PID_FILE"   # heal a lost/stale pid file
    echo "$BOOTSTRAP"; return 0
  fi

  ensure_libs

  if [[ -z "$pid" ]] && port_open "$KAFKA_PORT"; then
    if kafka_api_ok plaintext; then
      log "a Kafka broker not started by this script already answers on $BOOTSTRAP; using it"
      log "warning: its SASL_SSL/mTLS listeners (if any) are not this script's: secure-env will refuse"
      echo "$BOOTSTRAP"; return 0
    fi
    die "port $KAFKA_PORT is in use by something that is not a Kafka broker"
  fi
  if [[ -z "$pid" ]]; then
    local name port
    for name in KAFKA_CONTROLLER_PORT KAFKA_SASL_SSL_PORT KAFKA_MTLS_PORT; do
      port="${!name}"
      if port_open "$port"; then die "port $port is already in use (set $name)"; fi
    done
  fi

  ensure_tls
  ensure_scram_password

  if [[ -z "$pid" ]]; then
    rm -f "$PID_FILE"   # stale, if any
    write_configs
    ensure_formatted

    # Keep the previous run's logs around once, start the new ones fresh.
    local f
    for f in server.log broker.out; do
      if [[ -f "$LOG_DIR/$f" ]]; then mv -f "$LOG_DIR/$f" "$LOG_DIR/$f.prev"; fi
    done

    log "starting Kafka $KAFKA_VERSION on $BOOTSTRAP (SASL_SSL $SASL_SSL_BOOTSTRAP, mTLS $MTLS_BOOTSTRAP, controller 127.0.0.1:$KAFKA_CONTROLLER_PORT, logs $LOG_DIR)"
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
    log "broker process $pid exists; waiting until it answers on every listener"
  fi

  # Wait for real readiness: log line, open ports, then an admin-API round trip on
  # each listener (in parallel). A storage formatted by an older kafka.sh has no
  # SCRAM user yet: it is set through PLAINTEXT first.
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT)) t0=$SECONDS rescram=false
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log_tail; rm -f "$PID_FILE"; die "broker (pid $pid) exited during startup"
    fi
    if grep -q "Kafka Server started" "$LOG_DIR/server.log" 2>/dev/null && port_open "$KAFKA_PORT" \
       && port_open "$KAFKA_SASL_SSL_PORT" && port_open "$KAFKA_MTLS_PORT"; then
      if scram_applied; then
        if listeners_ok plaintext sasl_ssl mtls; then break; fi
        # Only the SCRAM login fails: the marker lies (storage re-formatted by an
        # older kafka.sh, say); set the credential again, once.
        if [[ "$FAILED_LISTENERS" == sasl_ssl && "$rescram" == false ]]; then
          log "SCRAM login on $SASL_SSL_BOOTSTRAP fails; setting the credential again"
          rescram=true; rm -f "$SCRAM_MARKER"; continue
        fi
      elif kafka_api_ok plaintext; then
        ensure_scram_user || die "could not set the SCRAM credential of user $KAFKA_SCRAM_USER"
        continue
      fi
    fi
    if ((SECONDS >= deadline)); then
      log_tail
      die "broker (pid $pid) not ready on all of $BOOTSTRAP (PLAINTEXT), $SASL_SSL_BOOTSTRAP (SASL_SSL), $MTLS_BOOTSTRAP (mTLS) after ${KAFKA_START_TIMEOUT}s${FAILED_LISTENERS:+ (failing: $FAILED_LISTENERS)} (left running; see $LOG_DIR)"
    fi
    sleep 0.5
  done
  log "ready after $((SECONDS - t0))s (pid $pid; SASL_SSL $SASL_SSL_BOOTSTRAP, mTLS $MTLS_BOOTSTRAP)"
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
    if props_have_secure_listeners; then
      echo "running (pid $pid) on $BOOTSTRAP (SASL_SSL $SASL_SSL_BOOTSTRAP, mTLS $MTLS_BOOTSTRAP)"
    else
      echo "running (pid $pid) on $BOOTSTRAP without the secure listeners (older kafka.sh: $0 stop && $0 start)"
    fi
    return 0
  fi
  if [[ -n "$pid" ]]; then
    echo "not running: broker process $pid exists but does not answer on $BOOTSTRAP"; return 1
  fi
  if port_open "$KAFKA_PORT"; then
    echo "not running (by this script); something else listens on $BOOTSTRAP"; return 1
  fi
  echo "not running"; return 1
}

# KEY='value' (single quotes, a ' inside as '\'').
env_line() { printf "%s='%s'\n" "$1" "${2//\'/\'\\\'\'}"; }

# Shell-sourceable endpoints, files and user of this script's secure listeners.
cmd_secure_env() {
  validate_ports
  local pid; pid="$(broker_pid)"
  [[ -n "$pid" ]] || die "no broker of this script runs on $BOOTSTRAP: run $0 start first"
  props_have_secure_listeners || die "$(old_broker_message "$pid")"
  [[ -f "$TLS_DIR/.complete" && -s "$SCRAM_PASSWORD_FILE" ]] ||
    die "no TLS material or SCRAM password under $PORT_DIR: run $0 start first"
  local name port
  for name in KAFKA_SASL_SSL_PORT KAFKA_MTLS_PORT; do
    port="${!name}"
    port_open "$port" || die "nothing answers on 127.0.0.1:$port ($name) yet: run $0 start first"
  done
  env_line KAFKA_BOOTSTRAP "$BOOTSTRAP"
  env_line KAFKA_SASL_SSL "$SASL_SSL_BOOTSTRAP"
  env_line KAFKA_MTLS "$MTLS_BOOTSTRAP"
  env_line KAFKA_CA "$TLS_DIR/ca.pem"
  env_line KAFKA_CLIENT_CERT "$TLS_DIR/client.pem"
  env_line KAFKA_CLIENT_KEY "$TLS_DIR/client.key"
  env_line KAFKA_SCRAM_MECHANISM "$SCRAM_MECHANISM"
  env_line KAFKA_SCRAM_USER "$KAFKA_SCRAM_USER"
  env_line KAFKA_SCRAM_PASSWORD_FILE "$SCRAM_PASSWORD_FILE"
  env_line KAFKA_SASL_SSL_CLIENT_PROPERTIES "$SASL_CLIENT_PROPS"
  env_line KAFKA_MTLS_CLIENT_PROPERTIES "$MTLS_CLIENT_PROPS"
}

# Runs one of Kafka's own command-line tools (a main class of the cached jars), e.g.
#   kafka.sh tool org.apache.kafka.tools.ConsoleProducer --bootstrap-server 127.0.0.1:9092 --topic t
cmd_tool() {
  [[ $# -ge 1 ]] || die "usage: $0 tool MAIN_CLASS [ARGS...]"
  find_java
  take_lock
  ensure_libs
  [[ -f "$LOG4J_TOOLS" ]] || write_tools_log4j
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
  secure-env) cmd_secure_env ;;
  stop)    cmd_stop ;;
  status)  cmd_status ;;
  tool)    shift; cmd_tool "$@" ;;
  produce) shift; cmd_produce "$@" ;;
  *) echo "usage: $0 start|stop|status|secure-env|tool MAIN_CLASS [ARGS...]|produce TOPIC" >&2; exit 2 ;;
esac
