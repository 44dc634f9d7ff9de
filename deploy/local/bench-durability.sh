#!/usr/bin/env bash
# deploy/local/bench-durability.sh — end-to-end throughput of the release daemon, durable as
# it always is (changelog written and acknowledged before offsets are stored), on records
# already in the topics (PRODUCT.md §8: "Kafka end to end, broker on the same 2-core machine,
# records already in the topic ≥ 500,000 records/s").
#
# Usage:  deploy/local/bench-durability.sh [RECORDS] [PARTITIONS]     (default 500000 6)
#
#   1. starts the local broker (deploy/local/kafka.sh start, idempotent);
#   2. builds target/release/socmetrics and the state_bench example;
#   3. produces RECORDS simulator records (alerts and case events, keyed by incident id) to
#      fresh topics statebench-e2e-<pid>-<time>.{alerts,cases} with PARTITIONS partitions
#      (state_bench produce-inputs);
#   4. runs `socmetrics run` on them with clock.mode = "event", a fresh group and changelog,
#      and polls /metrics every 100 ms until soc_events_consumed_total of both topics adds up
#      to RECORDS;
#   5. prints records/s from process start and from the first record consumed, and the
#      daemon's peak RSS; stops the daemon (SIGTERM) and deletes the topics it made
#      (KEEP_TOPICS=1 keeps them).
#
# Environment: HTTP_PORT (default 19746), TIMEOUT seconds (default 600), FORMAT (a vendor
# format, e.g. ecs: the alerts are produced in it, unkeyed, to <prefix>.vendor, read as an
# [[inputs]] topic with keyed_by_incident = false; the run ends when every record is consumed
# and every forwarded event is consumed back from the repartition topic).

set -euo pipefail

RECORDS="${1:-500000}"
PARTITIONS="${2:-6}"
HTTP_PORT="${HTTP_PORT:-19746}"
TIMEOUT="${TIMEOUT:-600}"

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
brokers="$(deploy/local/kafka.sh start)"
cargo build --release --bin socmetrics --example state_bench >&2

prefix="statebench-e2e-$$-$(date +%s)"
work="$(mktemp -d)"
daemon=""
cleanup() {
  if [[ -n "$daemon" ]] && kill -0 "$daemon" 2>/dev/null; then
    kill -TERM "$daemon" 2>/dev/null || true
    wait "$daemon" 2>/dev/null || true
  fi
  if [[ "${KEEP_TOPICS:-0}" != 1 ]]; then
    deploy/local/kafka.sh tool org.apache.kafka.tools.TopicCommand \
      --bootstrap-server "$brokers" --delete --topic "$prefix\\..*" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

KAFKA_BROKERS="$brokers" SOCMETRICS_BENCH_BROKERS="$brokers" \
  target/release/examples/state_bench produce-inputs "$prefix" "$RECORDS" "$PARTITIONS" ${FORMAT:+"$FORMAT"}

cat >"$work/socmetrics.toml" <<EOF
[kafka]
brokers = "$brokers"
group_id = "$prefix"

[topics]
alerts = "$prefix.alerts"
cases = "$prefix.cases"
inventory = "$prefix.inventory"
telemetry = "$prefix.telemetry"
state = "$prefix.state"

[http]
listen = "127.0.0.1:$HTTP_PORT"

[clock]
mode = "event"
EOF
if [[ -n "${FORMAT:-}" ]]; then
  cat >>"$work/socmetrics.toml" <<EOF

[[inputs]]
topic = "$prefix.vendor"
format = "$FORMAT"
keyed_by_incident = false
EOF
fi

# Records consumed from the inputs, minus those whose forwarded events are not yet consumed
# back from the repartition topic (one event per vendor alert).
consumed() {
  local metrics
  metrics="$(curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" 2>/dev/null)" || { echo 0; return; }
  awk -v p="$prefix" '
      /^soc_events_consumed_total\{/ {
        if (index($0, "\"" p ".alerts\"") || index($0, "\"" p ".cases\"")) { sum += $NF }
        if (index($0, "\"" p ".vendor\"")) { sum += $NF; vendor += $NF }
        if (index($0, "\"" p ".repartition\"")) { back += $NF }
      }
      END { behind = vendor - back; if (behind < 0) behind = 0; printf "%d\n", sum - behind }' <<<"$metrics"
}

start="$(date +%s.%N)"
target/release/socmetrics run --config "$work/socmetrics.toml" >"$work/daemon.log" 2>&1 &
daemon=$!
first=""
done_at=""
while :; do
  now="$(date +%s.%N)"
  if ! kill -0 "$daemon" 2>/dev/null; then
    echo "daemon exited early; its log:" >&2
    cat "$work/daemon.log" >&2
    exit 1
  fi
  if awk -v n="$now" -v s="$start" -v t="$TIMEOUT" 'BEGIN { exit !(n - s > t) }'; then
    echo "timed out after ${TIMEOUT}s at $(consumed) of $RECORDS records" >&2
    exit 1
  fi
  count="$(consumed)"
  if [[ -z "$first" && "$count" -gt 0 ]]; then
    first="$now"
  fi
  if [[ "$count" -ge "$RECORDS" ]]; then
    done_at="$now"
    break
  fi
  sleep 0.1
done
peak_kib="$(awk '/^VmHWM:/ { print $2 }' "/proc/$daemon/status")"

awk -v s="$start" -v f="$first" -v d="$done_at" -v n="$RECORDS" -v p="$PARTITIONS" \
  -v rss="$peak_kib" 'BEGIN {
    printf "daemon: %d records on %d partitions consumed in %.2f s from start (%.0f records/s), " \
           "%.2f s from the first record consumed (%.0f records/s); peak RSS %.0f MiB\n",
           n, p, d - s, n / (d - s), d - f, n / (d - f), rss / 1024
  }'
