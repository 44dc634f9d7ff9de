#!/usr/bin/env bash
# The bounded fuzz pass of CI (issue 10): every target of tests/fuzz for SECONDS_PER_TARGET
# (default 20; four targets, under 2 minutes with their start-up), each from a fresh copy of its seeds in a
# temporary directory, so nothing generated is written into the repository. Fails on the first
# crash, leak of a panic or timeout, and prints the reproducer's path. A long run: docs/fuzzing.md.
#
#   deploy/local/fuzz.sh                   # all targets, 25 s each
#   SECONDS_PER_TARGET=600 deploy/local/fuzz.sh decode pipeline
#
# cargo-fuzz runs on the stable toolchain with --sanitizer none; it is installed when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${SECONDS_PER_TARGET:-20}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode pipeline changelog config)
fuzz=(--fuzz-dir tests/fuzz --sanitizer none --target-dir tests/fuzz/target)

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --version 0.13.2 --locked
fi
start=$SECONDS
cargo fuzz build "${fuzz[@]}"
echo "fuzz: built in $((SECONDS - start)) s"

work=$(mktemp -d "${TMPDIR:-/tmp}/socmetrics-fuzz.XXXXXX")
keep=false
cleanup() { if ! $keep; then rm -rf "$work"; fi; }
trap cleanup EXIT

# One seed file per fixture line (every tests/fixtures/<format>/*.ndjson, expected outputs
# aside), so each vendor's fixtures seed the decoders as they land.
fixture_lines() {
  local out=$1 n=0 file line
  while IFS= read -r file; do
    while IFS= read -r line || [ -n "$line" ]; do
      [ -n "$line" ] || continue
      n=$((n + 1))
      printf '%s' "$line" >"$out/fixture-$n"
    done <"$file"
  done < <(find tests/fixtures -name '*.ndjson' ! -name '*.expected.ndjson' | sort)
}

seed() {
  local target=$1 corpus=$2
  mkdir -p "$corpus"
  cp tests/fuzz/seeds/"$target"/* "$corpus"/
  case $target in
    decode) fixture_lines "$corpus" ;;
    pipeline)
      fixture_lines "$corpus"
      find tests/fixtures -name '*.ndjson' ! -name '*.expected.ndjson' -exec cp {} "$corpus"/ \;
      ;;
    config) cp config/socmetrics.toml "$corpus"/ ;;
  esac
}

for target in "${targets[@]}"; do
  corpus=$work/corpus/$target
  artifacts=$work/artifacts/$target
  seed "$target" "$corpus"
  mkdir -p "$artifacts"
  echo "fuzz: $target for $seconds s from $(find "$corpus" -type f | wc -l) seeds"
  if ! cargo fuzz run "${fuzz[@]}" "$target" "$corpus" -- \
      -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
      -dict=tests/fuzz/dict/"$target".dict -artifact_prefix="$artifacts"/ \
      >"$work/$target.log" 2>&1; then
    keep=true
    tail -n 40 "$work/$target.log"
    echo "fuzz: $target FAILED; reproducer(s):" >&2
    find "$artifacts" -type f >&2
    echo "replay: cargo fuzz run ${fuzz[*]} $target <reproducer>" >&2
    exit 1
  fi
  grep -E '^(#[0-9]+\s+DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added)' \
    "$work/$target.log" || true
done
echo "fuzz: ${targets[*]}: no crash in $((SECONDS - start)) s"
