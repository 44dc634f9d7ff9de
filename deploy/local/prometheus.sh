#!/usr/bin/env bash
# deploy/local/prometheus.sh — make sure Debian's Prometheus and Alertmanager are installed
# (packages `prometheus` and `prometheus-alertmanager`), for development, tests and CI, and
# print where their four binaries are.
#
# Usage:  deploy/local/prometheus.sh
#
#   Idempotent: installs nothing when the four binaries are found. Otherwise runs
#   `apt-get update` and `apt-get install --no-install-recommends` (DEBIAN_FRONTEND=
#   noninteractive; through sudo when not root, `sudo -n` without a terminal so that a test
#   never waits for a password). Safe to call from several processes at once: an flock
#   serialises the install, and whoever comes second finds the binaries.
#
# Stdout carries only four lines, NAME=PATH:
#   prometheus=/usr/bin/prometheus
#   promtool=/usr/bin/promtool
#   alertmanager=/usr/bin/prometheus-alertmanager   (Debian's name; `alertmanager` elsewhere)
#   amtool=/usr/bin/amtool
# Progress goes to stderr. Exit 0 = all four found.
#
# Environment:
#   SOCMETRICS_PROMETHEUS_LOCK  lock file (default ${XDG_CACHE_HOME:-~/.cache}/socmetrics/apt.lock)
#
# Debian's packages start their systemd services when systemd runs; the tests start their own
# processes on free ports, so a service on 9090/9093 neither helps nor hurts.

set -euo pipefail

LOCK_FILE="${SOCMETRICS_PROMETHEUS_LOCK:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/socmetrics/apt.lock}"

# The first of the names given found on PATH or in /usr/bin (Debian's packages put them there).
find_tool() {
  local name dir
  for name in "$@"; do
    if command -v "$name" >/dev/null 2>&1; then
      command -v "$name"
      return 0
    fi
    for dir in /usr/bin /usr/local/bin; do
      if [ -x "$dir/$name" ]; then
        echo "$dir/$name"
        return 0
      fi
    done
  done
  return 1
}

all_found() {
  find_tool prometheus >/dev/null && find_tool promtool >/dev/null \
    && find_tool alertmanager prometheus-alertmanager >/dev/null \
    && find_tool amtool >/dev/null
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif ! command -v sudo >/dev/null 2>&1; then
    echo "prometheus.sh: not root and no sudo: install prometheus and prometheus-alertmanager by hand" >&2
    return 1
  elif [ -t 0 ]; then
    sudo "$@"
  elif ! sudo -n "$@"; then
    echo "prometheus.sh: \`sudo -n $*\` failed (no terminal to ask for a password):" \
      "run deploy/local/prometheus.sh once in a terminal, or as root" >&2
    return 1
  fi
}

install_packages() {
  mkdir -p "$(dirname "$LOCK_FILE")"
  exec 9>"$LOCK_FILE"
  flock 9
  # Another process may have installed them while this one waited.
  if all_found; then
    return 0
  fi
  echo "prometheus.sh: installing Debian's prometheus and prometheus-alertmanager (apt-get)" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    prometheus prometheus-alertmanager >&2
  exec 9>&-
}

if ! all_found; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "prometheus.sh: prometheus, promtool, alertmanager and amtool are needed, and this is no Debian-like system (no apt-get): install them by hand" >&2
    exit 1
  fi
  install_packages
fi

missing=0
for entry in "prometheus:prometheus" "promtool:promtool" \
             "alertmanager:alertmanager prometheus-alertmanager" "amtool:amtool"; do
  key="${entry%%:*}"
  # shellcheck disable=SC2086 # the names are words
  if path="$(find_tool ${entry#*:})"; then
    echo "$key=$path"
  else
    echo "prometheus.sh: $key still missing after the install" >&2
    missing=1
  fi
done
exit "$missing"
