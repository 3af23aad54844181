#!/usr/bin/env bash
# Interleaved A/B of two edgelb revisions on the rig of docs/BENCHMARKS.md, reporting CPU time
# per request (utime+stime of the edgelb process over a wrk run / requests). On a shared machine
# CPU per request moves far less than req/s, so it shows what a hot-path change buys.
#
#   bench/compare-revisions.sh REV_A REV_B [ROUNDS]     (REV may be WORK: the working tree)
#   SECONDS_PER_RUN=4 PORT_BASE=19080 bench/compare-revisions.sh HEAD~1 HEAD 5
#   CONFIG_B='access_log: false' bench/compare-revisions.sh main WORK   (config lines for one side)
#   NODE_FLAGS_B=--max-semi-space-size=8 bench/compare-revisions.sh WORK WORK   (node flags for one side)
#   ENV_B=MALLOC_ARENA_MAX=2 bench/compare-revisions.sh WORK WORK   (environment variables for one side)
#   URL_PATH=/upload WRK_SCRIPT=post.lua bench/compare-revisions.sh HEAD WORK   (uploads: a wrk Lua
#   script that sets the method and body; the upstreams read the whole body on /upload)
#   HEAP_SAMPLING=1 bench/compare-revisions.sh HEAD WORK   (also bytes allocated per request, from V8's
#   sampling heap profiler over the measured run: steadier than CPU time, but the sampling costs CPU)
# edgelb's stdout (the access log, by default) goes to a file, as a production log would.
set -euo pipefail
rev_a=${1:?REV_A}; rev_b=${2:?REV_B}; rounds=${3:-5}
secs=${SECONDS_PER_RUN:-4}; base=${PORT_BASE:-19080}
url_path=${URL_PATH:-/}; script_args=()
[ -n "${WRK_SCRIPT:-}" ] && script_args=(-s "$(realpath "$WRK_SCRIPT")")
root=$(cd "$(dirname "$0")/.." && pwd)
for side in A B; do
  env_var="ENV_$side"
  read -r -a assignments <<<"${!env_var:-}"
  for assignment in "${assignments[@]}"; do
    [[ $assignment =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { echo "ENV_$side: '$assignment' is not NAME=VALUE" >&2; exit 2; }
  done
done
node="$root/node_modules/node/bin/node"
work=$(mktemp -d)
trap 'kill $(cat "$work/nginx.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

for side in A B; do
  extra_var="CONFIG_$side"
  cat > "$work/edgelb-$side.yaml" <<YAML
listen: ["127.0.0.1:$base"]
upstreams:
  default:
    peers: ["127.0.0.1:$((base + 1))", "127.0.0.1:$((base + 2))", "127.0.0.1:$((base + 3))"]
${!extra_var:-}
YAML
done
# shellcheck source=bench/nginx-upstreams.sh
source "$root/bench/nginx-upstreams.sh"
start_nginx_upstreams "$work" "$base"

checkout() {
  mkdir -p "$work/$1"
  if [ "$2" = WORK ]; then
    (cd "$root" && tar cf - --exclude=node_modules --exclude=.git .) | tar xf - -C "$work/$1"
  else
    (cd "$root" && git archive "$2") | tar xf - -C "$work/$1"
  fi
  ln -s "$root/node_modules" "$work/$1/node_modules"
}
checkout A "$rev_a"
checkout B "$rev_b"

run() {
  local flags_var="NODE_FLAGS_$1" env_var="ENV_$1" sampling=() extra_env=()
  [ -n "${HEAP_SAMPLING:-}" ] && sampling=(--import "$root/bench/rig/heap-sampling.ts")
  read -r -a extra_env <<<"${!env_var:-}"
  # shellcheck disable=SC2086 # the flags are meant to be split into words
  env "${extra_env[@]}" "HEAP_SAMPLING_DIR=$work" LOG_LEVEL=warn taskset -c 1 "$node" ${!flags_var:-} "${sampling[@]}" "$work/$1/bin/edgelb.js" -c "$work/edgelb-$1.yaml" >"$work/stdout-$1.log" &
  local pid=$! serving
  for _ in $(seq 100); do curl -s -o /dev/null "127.0.0.1:$base" && break; sleep 0.1; done
  # A revision with a primary and a worker process: the worker is what serves.
  serving=$(serving_pid "$pid")
  taskset -c 0 wrk -t1 -c64 -d2s "${script_args[@]}" "http://127.0.0.1:$base$url_path" >/dev/null
  local before after out allocated=""
  [ -n "${HEAP_SAMPLING:-}" ] && kill -USR1 "$serving" && sleep 0.2
  before=$(awk '{print $14 + $15}' "/proc/$serving/stat")
  out=$(taskset -c 0 wrk -t1 -c64 -d"${secs}"s --latency "${script_args[@]}" "http://127.0.0.1:$base$url_path")
  after=$(awk '{print $14 + $15}' "/proc/$serving/stat")
  if [ -n "${HEAP_SAMPLING:-}" ]; then
    kill -USR2 "$serving"
    for _ in $(seq 100); do [ -s "$work/heap-$serving.txt" ] && break; sleep 0.1; done
    allocated=$(cat "$work/heap-$serving.txt")
  fi
  local requests rps p99
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  # /proc/PID/stat counts clock ticks of 10 ms.
  echo "$1 rps=$rps cpu_us_per_req=$(awk -v t=$((after - before)) -v n="$requests" 'BEGIN {printf "%.1f", t * 10000 / n}') p99=$p99${allocated:+ bytes_per_req=$(awk -v b="$allocated" -v n="$requests" 'BEGIN {printf "%.0f", b / n}')} $(grep VmHWM "/proc/$serving/status" | tr -s ' \t' ' ')"
  kill -TERM "$pid"; wait "$pid" || true
  rm -f "$work/stdout-$1.log"
}

for _ in $(seq "$rounds"); do run A; run B; done | tee "$work/runs.txt"
median() { grep "^$1 " "$work/runs.txt" | sed "s/.*$2=\([0-9.]*\).*/\1/" | sort -n | awk '{v[NR]=$1} END {print v[int((NR + 1) / 2)]}'; }
for side in A B; do
  echo "$side ($([ $side = A ] && echo "$rev_a" || echo "$rev_b")): median $(median $side cpu_us_per_req) us CPU per request, median $(median $side rps) req/s${HEAP_SAMPLING:+, median $(median $side bytes_per_req) bytes allocated per request}"
done
