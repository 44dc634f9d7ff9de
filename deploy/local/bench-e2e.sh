#!/usr/bin/env bash
# deploy/local/bench-e2e.sh — issue 12's end-to-end comparison: three readers of the same
# topic of native alerts already in Kafka, whole process, interleaved, on this machine and
# its local broker:
#
#   (a) Kafka's own ConsumerPerformance (read only; it also reports its own fetch rate);
#   (b) deploy/local/reference_consumer.py: confluent-kafka + orjson + prometheus_client,
#       a counter by (source, severity) and a detection-delay histogram;
#   (c) `target/release/socmetrics run`, event clock, durable as shipped (changelog written
#       and acknowledged before offsets are stored).
#
# Usage:  deploy/local/bench-e2e.sh [RECORDS] [ROUNDS]          (default 2000000 3)
#
#   1. starts the local broker (deploy/local/kafka.sh start, idempotent), builds
#      `cargo build --release --bin socmetrics --example state_bench`, and makes the venv
#      $BENCH_VENV with deploy/local/requirements-bench.txt unless it already imports them;
#   2. produces the workload once to a fresh topic benche2e-<pid>-<time>.alerts:
#      `state_bench produce-alerts TOPIC RECORDS PARTITIONS INCIDENTS` (RECORDS native
#      alerts of ~210 B, each naming one of INCIDENTS incidents and keyed by it, lz4,
#      murmur2_random partitioning);
#   3. per round, in this order: (a) ConsumerPerformance --num-records RECORDS with a fresh
#      group; (b) the Python consumer with a fresh group; (c) socmetrics with a fresh group,
#      a fresh changelog (topics.state) and per-run names of topics that do not exist for
#      cases, inventory and telemetry. (a) and (b) are timed from start to exit with
#      `date +%s.%N`; (c) from start until soc_events_consumed_total of the topic on its
#      /metrics (polled every 50 ms with curl) reaches RECORDS, then it gets SIGTERM;
#   4. prints (Markdown, stdout) the machine, the commands, a table per round and the median
#      records/s of each reader, with socmetrics' ratio to Python and to ConsumerPerformance;
#      then deletes the topics and groups it made (KEEP_TOPICS=1 keeps them). Progress and
#      the tools' own output go to stderr and to the run directory's logs.
#
# Environment:
#   PARTITIONS  partitions of the topic                      (default 6)
#   INCIDENTS   distinct incident ids of the alerts          (default 200000)
#   HTTP_PORT   socmetrics' /metrics port                    (default 19747)
#   PY_PORT     the Python consumer's /metrics port          (default 19748)
#   TIMEOUT     seconds allowed to each run                  (default 600)
#   BENCH_VENV  the Python venv       (default ~/.cache/socmetrics/bench-venv)
#   KEEP_TOPICS 1 keeps the topics and consumer groups       (default 0)
#   KEEP_LOGS   1 keeps the run directory (the runs' output, the configs) (default 0)
#   BASELINE    another socmetrics binary (an earlier build), run as a fourth reader (d) in
#               every round, after (c), on its own fresh group and changelog: two builds
#               side by side in one run                  (default: none)

set -euo pipefail

RECORDS="${1:-2000000}"
ROUNDS="${2:-3}"
PARTITIONS="${PARTITIONS:-6}"
INCIDENTS="${INCIDENTS:-200000}"
HTTP_PORT="${HTTP_PORT:-19747}"
PY_PORT="${PY_PORT:-19748}"
TIMEOUT="${TIMEOUT:-600}"
VENV="${BENCH_VENV:-${HOME:-/tmp}/.cache/socmetrics/bench-venv}"
for n in RECORDS ROUNDS PARTITIONS INCIDENTS HTTP_PORT PY_PORT TIMEOUT; do
  [[ "${!n}" =~ ^[1-9][0-9]*$ ]] || { echo "bench-e2e: $n must be a positive integer, got '${!n}'" >&2; exit 2; }
done

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
log() { printf 'bench-e2e: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
# seconds between two `now`s
span() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$RECORDS" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }

invocation="$(printf '%q ' "$0" "$@")"
invocation="${invocation% }"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

brokers="$(deploy/local/kafka.sh start)"
log "broker at $brokers; building"
cargo build --release --bin socmetrics --example state_bench >&2
if ! "$VENV/bin/python" -c 'import confluent_kafka, orjson, prometheus_client' 2>/dev/null; then
  log "making the venv $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet -r deploy/local/requirements-bench.txt >&2
fi
for port in "$HTTP_PORT" "$PY_PORT"; do
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
    die "something already answers on 127.0.0.1:$port (set HTTP_PORT / PY_PORT)"
  fi
done

prefix="benche2e-$$-$(date +%s)"
topic="$prefix.alerts"
work="$(mktemp -d)"
child=""   # the run in progress
groups=()  # consumer groups made, deleted at the end
cleanup() {
  local rc=$?
  if [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if [[ "${KEEP_TOPICS:-0}" != 1 ]]; then
    deploy/local/kafka.sh tool org.apache.kafka.tools.TopicCommand \
      --bootstrap-server "$brokers" --delete --topic "$prefix\\..*" >/dev/null 2>&1 || true
    if ((${#groups[@]})); then
      local args=() g
      for g in "${groups[@]}"; do args+=(--group "$g"); done
      deploy/local/kafka.sh tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
        --bootstrap-server "$brokers" --delete "${args[@]}" >/dev/null 2>&1 || true
    fi
  fi
  if [[ "${KEEP_LOGS:-0}" == 1 || $rc -ne 0 ]]; then
    log "run directory kept: $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "producing $RECORDS alerts to $topic"
produce_cmd=(target/release/examples/state_bench produce-alerts "$topic" "$RECORDS" "$PARTITIONS" "$INCIDENTS")
produced="$(SOCMETRICS_BENCH_BROKERS="$brokers" "${produce_cmd[@]}")"
log "$produced"

# Runs CMD... in the background (so the trap can end it), output to $work/NAME.{out,err};
# sets `elapsed` to its whole-process seconds. Returns its exit status.
timed() {
  local name="$1" start end rc=0
  shift
  start="$(now)"
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  child=$!
  wait "$child" || rc=$?
  end="$(now)"
  child=""
  elapsed="$(span "$start" "$end")"
  return "$rc"
}
failed() {
  log "$1 failed; its output:"
  cat "$work/$2.out" "$work/$2.err" >&2
  exit 1
}

# The sum of a counter's series of our topic on socmetrics' /metrics (0 while it does not answer).
metric() {
  local metrics
  metrics="$(curl -sf --max-time 2 "http://127.0.0.1:$HTTP_PORT/metrics" 2>/dev/null)" || { echo 0; return; }
  awk -v m="$1" -v t="topic=\"$topic\"" '
      index($0, m "{") == 1 && index($0, t) { sum += $NF }
      END { printf "%d\n", sum }' <<<"$metrics"
}

# socmetrics, round $1: whole process until every record is consumed. Sets `elapsed`,
# `sm_first` (s to the first record), `sm_cpu` (CPU s), `sm_rss` (peak MiB), `sm_notes`.
run_socmetrics() {
  local round="$1" bin="${2:-target/release/socmetrics}" tag="${3:-sm}"
  local name="$tag.$1" config="$work/$tag.$1.toml" start t first="" count
  cat >"$config" <<EOF
[kafka]
brokers = "$brokers"
group_id = "$prefix.$tag.$round"

[topics]
alerts = "$topic"
cases = "$prefix.none$round.cases"
inventory = "$prefix.none$round.inventory"
telemetry = "$prefix.none$round.telemetry"
state = "$prefix.$tag.state$round"

[http]
listen = "127.0.0.1:$HTTP_PORT"

[clock]
mode = "event"
EOF
  groups+=("$prefix.$tag.$round")
  start="$(now)"
  "$bin" run --config "$config" >"$work/$name.out" 2>"$work/$name.err" &
  child=$!
  while :; do
    t="$(now)"
    kill -0 "$child" 2>/dev/null || { child=""; failed "socmetrics (round $round) exited early:" "$name"; }
    if awk -v n="$t" -v s="$start" -v l="$TIMEOUT" 'BEGIN { exit !(n - s > l) }'; then
      die "socmetrics timed out after ${TIMEOUT}s at $(metric soc_events_consumed_total) of $RECORDS records"
    fi
    count="$(metric soc_events_consumed_total)"
    [[ -z "$first" && "$count" -gt 0 ]] && first="$t"
    [[ "$count" -ge "$RECORDS" ]] && break
    sleep 0.05
  done
  elapsed="$(span "$start" "$t")"
  sm_first="$(span "$start" "$first")"
  sm_cpu="$(awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.1f", ($12 + $13) / hz }' "/proc/$child/stat")"
  sm_rss="$(awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$child/status")"
  sm_notes="rejected $(metric soc_events_rejected_total), duplicate $(metric soc_events_duplicate_total), late $(metric soc_events_late_total)"
  kill -TERM "$child"
  wait "$child" || true
  child=""
}

declare -A seconds  # [reader.round]
rows=() cp_own=() cp_fetch=()
cp_cmd=(deploy/local/kafka.sh tool org.apache.kafka.tools.ConsumerPerformance
  --bootstrap-server "$brokers" --topic "$topic" --num-records "$RECORDS")
py_cmd=("$VENV/bin/python" deploy/local/reference_consumer.py "$brokers" "$topic")
for ((round = 1; round <= ROUNDS; round++)); do
  log "round $round of $ROUNDS: ConsumerPerformance"
  groups+=("$prefix.cp.$round")
  timed "cp.$round" timeout "$TIMEOUT" "${cp_cmd[@]}" --group "$prefix.cp.$round" || failed ConsumerPerformance "cp.$round"
  # CSV: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
  # rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  IFS=', ' read -r -a cp <<<"$(grep -E '^[0-9]{4}-' "$work/cp.$round.out" | tail -n 1 | tr -s ' ')"
  # The date columns hold a space each ("yyyy-MM-dd HH:mm:ss:SSS"): 12 fields in all.
  ((${#cp[@]} >= 12)) || failed "ConsumerPerformance (unreadable report)" "cp.$round"
  [[ "${cp[6]%.*}" -ge "$RECORDS" ]] || failed "ConsumerPerformance (consumed ${cp[6]} records)" "cp.$round"
  seconds[cp.$round]="$elapsed"
  cp_own[round]="${cp[7]%.*}"
  cp_fetch[round]="${cp[11]%.*}"
  rows+=("| $round | ConsumerPerformance | $elapsed | $(rate "$elapsed") | its own: ${cp[7]%.*} records/s, fetch ${cp[11]%.*} records/s, rebalance ${cp[8]} ms |")

  log "round $round: Python"
  sleep 1
  groups+=("$prefix.py.$round")
  timed "py.$round" timeout "$TIMEOUT" "${py_cmd[@]}" "$prefix.py.$round" "$RECORDS" "$PY_PORT" || failed "Python consumer" "py.$round"
  py="$(tail -n 1 "$work/py.$round.out")"
  py_records="$(sed -E 's/.*"records": ([0-9]+).*/\1/' <<<"$py")"
  [[ "$py_records" -ge "$RECORDS" ]] || failed "Python consumer (consumed $py_records)" "py.$round"
  seconds[py.$round]="$elapsed"
  rows+=("| $round | Python reference_consumer.py | $elapsed | $(rate "$elapsed") | its own line: $py |")

  log "round $round: socmetrics run"
  sleep 1
  run_socmetrics "$round"
  seconds[sm.$round]="$elapsed"
  rows+=("| $round | socmetrics run | $elapsed | $(rate "$elapsed") | first record at ${sm_first} s, CPU ${sm_cpu} s, peak RSS ${sm_rss} MiB; $sm_notes |")
  if [[ -n "${BASELINE:-}" ]]; then
    log "round $round: socmetrics run (baseline $BASELINE)"
    run_socmetrics "$round" "$BASELINE" base
    seconds[base.$round]="$elapsed"
    rows+=("| $round | socmetrics run, baseline build | $elapsed | $(rate "$elapsed") | first record at ${sm_first} s, CPU ${sm_cpu} s, peak RSS ${sm_rss} MiB; $sm_notes |")
  fi
  log "round $round: cp ${seconds[cp.$round]} s, python ${seconds[py.$round]} s, socmetrics ${seconds[sm.$round]} s"
  sleep 1
done

# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
med_rate() {
  local reader="$1" r rates=()
  for ((r = 1; r <= ROUNDS; r++)); do rates+=("$(rate "${seconds[$reader.$r]}")"); done
  median "${rates[@]}"
}
cp_rate="$(med_rate cp)"
py_rate="$(med_rate py)"
sm_rate="$(med_rate sm)"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

cat <<EOF
## bench-e2e: $RECORDS native alerts, $PARTITIONS partitions, $ROUNDS rounds

- machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(uname -sr); load average before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg)
- revision: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo -dirty); broker: Kafka ${KAFKA_VERSION:-4.4.0} at $brokers (same machine)
- command: \`$invocation\`
- workload: \`${produce_cmd[*]}\` → $produced
- (a) \`${cp_cmd[*]} --group <fresh>\`
- (b) \`${py_cmd[*]} <fresh group> $RECORDS $PY_PORT\`
- (c) \`target/release/socmetrics run --config <fresh group, changelog $prefix.stateN, clock.mode = "event">\`, until soc_events_consumed_total reaches $RECORDS

| round | reader | seconds, whole process | records/s | notes |
|---|---|---|---|---|
$(printf '%s\n' "${rows[@]}")

| reader | median records/s, whole process |
|---|---|
| ConsumerPerformance | $cp_rate (its own: median $(median "${cp_own[@]}"), fetch rate median $(median "${cp_fetch[@]}")) |
| Python (confluent-kafka + orjson + prometheus_client) | $py_rate |
| socmetrics run | $sm_rate |
$([[ -n "${BASELINE:-}" ]] && echo "| socmetrics run, baseline build ($BASELINE) | $(med_rate base) |")

socmetrics / Python: $(ratio "$sm_rate" "$py_rate")×; socmetrics / ConsumerPerformance: $(ratio "$sm_rate" "$cp_rate")× (issue 12's goal: ≥ 4× and ≥ 0.8×, and ≥ 500,000 records/s)
EOF
