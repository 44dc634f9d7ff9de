#!/usr/bin/env bash
# deploy/local/bench-compare.sh — two builds of the crate measured side by side, in one run,
# on the same (noisy, shared) machine: the hot-path criterion benchmarks
#
#   alerts/decode_and_apply   (benches/alerts.rs, group `alerts`)
#   cases/decode_and_apply    (benches/lifecycle.rs, group `cases`)
#   cases/apply               (benches/lifecycle.rs, group `cases`, if the checkout has it)
#
# Usage:  deploy/local/bench-compare.sh BASE_DIR NEW_DIR [ROUNDS]        (ROUNDS default 3)
#
#   e.g.  deploy/local/bench-compare.sh /work/baseline /work/main 5
#
# Each DIR is a checkout of the crate (a git worktree is fine; uncommitted changes are
# measured as they are, and the report marks the revision `-dirty`).
#
#   1. builds each checkout's `alerts` and `lifecycle` bench binaries with
#      `cargo bench --no-run --bench alerts --bench lifecycle --message-format=json`
#      (bench profile = release: thin LTO, codegen-units = 1), each checkout in its own
#      CARGO_TARGET_DIR  $BENCH_TARGET_ROOT/<dir name>-<hash of its path>, outside the source
#      trees, and reads the executables' paths from cargo's JSON. An up-to-date build is reused
#      (cargo only relinks what changed), so a second comparison against the same base costs
#      only the new build. BASE_DIR = NEW_DIR builds once (an A/A run to see the noise floor);
#   2. runs them interleaved for ROUNDS rounds — per round: base alerts, new alerts, base
#      lifecycle, new lifecycle — each run `<bench exe> --bench <filter> --discard-baseline
#      --noplot --color never $CRITERION_ARGS` with a fresh CRITERION_HOME, so no run is
#      compared with (or saved over) another; the filters are anchored regexes
#      `^alerts/decode_and_apply$` and `^cases/(decode_and_apply|apply)$`;
#   3. reads criterion's middle throughput estimate (`thrpt: [low MID high]`, elem/s) of each
#      benchmark id in each run and prints, as Markdown on stdout: the machine (nproc, CPU
#      model, kernel, load average before/after), both checkouts' `git rev-parse --short HEAD`,
#      the exact commands, a table  id | base median of rounds | new median | new/base  (ratio
#      > 1: new is faster), and every round's figures. Progress goes to stderr.
#
# Environment:
#   BENCH_TARGET_ROOT  where the target dirs and run logs go (default /work/bench-target);
#                      run logs: $BENCH_TARGET_ROOT/runs/<date>-<pid>/ (criterion's stdout and
#                      stderr of every run, cargo's JSON of both builds).
#   CRITERION_ARGS     extra criterion options (default "--warm-up-time 2 --measurement-time 5").
#                      Note: criterion 0.8 lets a group's own settings win over the command
#                      line, and the `alerts` and `cases` groups set sample_size(10),
#                      warm_up_time(2 s) and measurement_time(6 s / 10 s) in code, so today these
#                      two options only matter to groups that set nothing.
#   CARGO              cargo binary (default cargo).
#
# The data sets of both bench files are built before criterion applies its filter (the
# lifecycle binary also builds the incident_card engines), so each run spends some seconds of
# setup before measuring; that setup is not measured.

set -euo pipefail

usage() {
  sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2
  exit 2
}

[[ $# -ge 2 && $# -le 3 ]] || usage
ROUNDS="${3:-3}"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS must be a positive integer, got '$ROUNDS'" >&2; exit 2; }

invocation="$(printf '%q ' "$0" "$@")"
invocation="${invocation% }"

checkout() {
  local dir
  dir="$(cd "$1" && pwd -P)" || { echo "no such directory: $1" >&2; exit 2; }
  for f in Cargo.toml benches/alerts.rs benches/lifecycle.rs; do
    [[ -f "$dir/$f" ]] || { echo "$dir is not a checkout of the crate: no $f" >&2; exit 2; }
  done
  printf '%s\n' "$dir"
}
BASE_DIR="$(checkout "$1")"
NEW_DIR="$(checkout "$2")"

TARGET_ROOT="${BENCH_TARGET_ROOT:-/work/bench-target}"
CARGO="${CARGO:-cargo}"
default_criterion_args="--warm-up-time 2 --measurement-time 5"
read -r -a criterion_args <<<"${CRITERION_ARGS-$default_criterion_args}"
common_args=(--bench --noplot --color never --discard-baseline "${criterion_args[@]}")
declare -A FILTER=([alerts]='^alerts/decode_and_apply$' [lifecycle]='^cases/(decode_and_apply|apply)$')
BENCHES=(alerts lifecycle)
declare -A EXE=()  # [ROLE/BENCH] = bench executable

mkdir -p "$TARGET_ROOT"
TARGET_ROOT="$(cd "$TARGET_ROOT" && pwd -P)"
RUN_DIR="$TARGET_ROOT/runs/$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$RUN_DIR"
log() { printf '[bench-compare %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

target_dir_for() {
  printf '%s/%s-%s\n' "$TARGET_ROOT" "$(basename "$1")" "$(printf '%s' "$1" | sha256sum | cut -c1-8)"
}

revision() {
  local rev
  rev="$(git -C "$1" rev-parse --short HEAD 2>/dev/null)" || { echo "not-git"; return; }
  if [[ -n "$(git -C "$1" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    rev="$rev-dirty"
  fi
  printf '%s\n' "$rev"
}

# build ROLE DIR: builds DIR's bench binaries; sets EXE[ROLE/alerts] and EXE[ROLE/lifecycle].
build() {
  local role="$1" dir="$2" target json exes start
  target="$(target_dir_for "$dir")"
  json="$RUN_DIR/build-$role.json"
  start="$(date +%s)"
  log "building $role: $dir (CARGO_TARGET_DIR=$target) ..."
  (cd "$dir" && CARGO_TARGET_DIR="$target" "$CARGO" bench --no-run \
    --bench alerts --bench lifecycle --message-format=json) >"$json"
  exes="$(python3 - "$json" <<'PY'
import json, sys
found = {}
for line in open(sys.argv[1]):
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    target = msg.get("target") or {}
    if (msg.get("reason") == "compiler-artifact" and "bench" in target.get("kind", [])
            and target.get("name") in ("alerts", "lifecycle") and msg.get("executable")):
        found[target["name"]] = msg["executable"]
for name in ("alerts", "lifecycle"):
    if name not in found:
        sys.exit(f"cargo reported no executable for bench target {name!r}")
    print(name, found[name])
PY
)"
  local name path
  while read -r name path; do
    [[ -x "$path" ]] || { echo "not executable: $path" >&2; exit 1; }
    EXE["$role/$name"]="$path"
    log "  $role $name: $path"
  done <<<"$exes"
  log "built $role in $(( $(date +%s) - start )) s"
}

build base "$BASE_DIR"
if [[ "$NEW_DIR" == "$BASE_DIR" ]]; then
  log "BASE_DIR = NEW_DIR: one build, measured as both (A/A run)"
  EXE[new/alerts]="${EXE[base/alerts]}"
  EXE[new/lifecycle]="${EXE[base/lifecycle]}"
else
  build new "$NEW_DIR"
fi

declare -A DIR_OF=([base]="$BASE_DIR" [new]="$NEW_DIR")
manifest="$RUN_DIR/manifest.tsv"
: >"$manifest"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
round_times=()
for ((round = 1; round <= ROUNDS; round++)); do
  round_start="$(date +%s)"
  for bench in "${BENCHES[@]}"; do
    for role in base new; do
      out="$RUN_DIR/$role-r$round-$bench"
      log "round $round/$ROUNDS: $role $bench ..."
      # cargo bench runs bench binaries from the package root: do the same.
      if ! (cd "${DIR_OF[$role]}" && CRITERION_HOME="$out.criterion" \
        "${EXE[$role/$bench]}" "${common_args[@]}" "${FILTER[$bench]}" >"$out.stdout" 2>"$out.stderr"); then
        echo "benchmark run failed: $role $bench round $round; see $out.stdout / $out.stderr" >&2
        tail -n 20 "$out.stderr" >&2
        exit 1
      fi
      printf '%s\t%s\t%s\t%s\n' "$role" "$round" "$bench" "$out.stdout" >>"$manifest"
    done
  done
  round_times+=("$(( $(date +%s) - round_start ))")
  log "round $round took ${round_times[-1]} s"
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

cpu_model="$(grep -m1 -E '^(model name|Model name|cpu model)' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
[[ -n "$cpu_model" ]] || cpu_model="$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1)"
[[ -n "$cpu_model" ]] || cpu_model=unknown

{
  echo "## socmetrics bench comparison"
  echo
  echo "- machine: $(nproc) CPUs, $cpu_model, kernel $(uname -r); load average (1/5/15 min) before $load_before, after $load_after"
  echo "- base: \`$BASE_DIR\` at \`$(revision "$BASE_DIR")\` ($(cd "$BASE_DIR" && rustc -V 2>/dev/null || echo 'rustc ?'))"
  echo "- new: \`$NEW_DIR\` at \`$(revision "$NEW_DIR")\` ($(cd "$NEW_DIR" && rustc -V 2>/dev/null || echo 'rustc ?'))"
  echo "- command: \`$invocation\`"
  echo "- each run: \`<bench exe> ${common_args[*]} <filter>\` with filters \`${FILTER[alerts]}\` (alerts) and \`${FILTER[lifecycle]}\` (lifecycle); built with \`cargo bench --no-run --bench alerts --bench lifecycle\`"
  echo "- $ROUNDS round(s), interleaved base/new per bench binary; seconds per round: ${round_times[*]}; logs: \`$RUN_DIR\`"
  echo
} >"$RUN_DIR/report.md"

python3 - "$manifest" >>"$RUN_DIR/report.md" <<'PY'
import re, statistics, sys

UNITS = {"elem/s": 1.0, "Kelem/s": 1e3, "Melem/s": 1e6, "Gelem/s": 1e9}
time_re = re.compile(r"^(\S*?)\s*time:\s+\[")
thrpt_re = re.compile(r"^\s+thrpt:\s+\[\s*(\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\s*\]")
bare_id_re = re.compile(r"^(\S+)\s*$")

def parse(path):
    """{benchmark id: middle throughput estimate in elem/s} of one criterion stdout."""
    rates, last_bare, current = {}, None, None
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        m = time_re.match(line)
        if m:
            current = m.group(1) or last_bare
            continue
        m = thrpt_re.match(line)
        if m and current is not None:
            value, unit = float(m.group(3)), m.group(4)
            if unit not in UNITS:
                sys.exit(f"{path}: unknown throughput unit {unit!r} in {line.strip()!r}")
            rates.setdefault(current, value * UNITS[unit])  # the first thrpt after time:
            current = None
            continue
        m = bare_id_re.match(line)
        if m:
            last_bare = m.group(1)
    return rates

runs = {}  # (role, id) -> {round: rate}
rounds = set()
for line in open(sys.argv[1]):
    role, rnd, bench, path = line.rstrip("\n").split("\t")
    rates = parse(path)
    if not rates:
        sys.exit(f"no throughput found in {path}")
    rounds.add(int(rnd))
    for bid, rate in rates.items():
        runs.setdefault((role, bid), {})[int(rnd)] = rate

order = ["alerts/decode_and_apply", "cases/decode_and_apply", "cases/apply"]
ids = [i for i in order if any((r, i) in runs for r in ("base", "new"))]
ids += sorted({i for _, i in runs} - set(ids))
missing = [i for i in order[:2] if i not in ids]

def fmt(rate):
    return f"{rate / 1e6:.3f}"

def median(role, bid):
    vals = list(runs.get((role, bid), {}).values())
    return statistics.median(vals) if vals else None

print("| benchmark id | base median of rounds (Melem/s) | new median (Melem/s) | new/base |")
print("| --- | ---: | ---: | ---: |")
for bid in ids:
    b, n = median("base", bid), median("new", bid)
    ratio = f"{n / b:.3f}" if b and n else "—"
    print(f"| {bid} | {fmt(b) if b else '—'} | {fmt(n) if n else '—'} | {ratio} |")
print()
print("Throughput is criterion's middle estimate (records or case events per second); "
      "new/base > 1 means new is faster.")
if missing:
    print()
    print("**Missing from both builds:** " + ", ".join(missing))
print()
print("Every round (Melem/s):")
print()
rs = sorted(rounds)
print("| benchmark id | build | " + " | ".join(f"round {r}" for r in rs) + " | min–max spread |")
print("| --- | --- | " + " | ".join("---:" for _ in rs) + " | ---: |")
for bid in ids:
    for role in ("base", "new"):
        vals = runs.get((role, bid), {})
        cells = [fmt(vals[r]) if r in vals else "—" for r in rs]
        spread = (f"{(max(vals.values()) - min(vals.values())) / statistics.median(vals.values()) * 100:.1f} %"
                  if vals else "—")
        print(f"| {bid} | {role} | " + " | ".join(cells) + f" | {spread} |")
PY

cat "$RUN_DIR/report.md"
log "report saved as $RUN_DIR/report.md"
