#!/usr/bin/env bash
# edgelb's cost per request over plain HTTP/1.1, HTTP/1.1 over TLS and HTTP/2 over TLS on one
# run, against three nginx upstreams (as bench/compare-revisions.sh). Reports requests/s and CPU
# time of the edgelb process per request. Needs nginx, wrk, openssl, taskset.
#
#   SECONDS_PER_RUN=3 PORT_BASE=19180 bench/tls-h2.sh
set -euo pipefail
secs=${SECONDS_PER_RUN:-3}; base=${PORT_BASE:-19180}
root=$(cd "$(dirname "$0")/.." && pwd)
node="$root/node_modules/node/bin/node"
work=$(mktemp -d)
trap 'kill $(cat "$work/nginx.pid" 2>/dev/null) 2>/dev/null || true; [ -n "${lb:-}" ] && kill "$lb" 2>/dev/null; rm -rf "$work"' EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat > "$work/edgelb.yaml" <<YAML
access_log: false
listen:
  - 127.0.0.1:$base
  - { addr: "127.0.0.1:$((base + 4))", tls: { cert: cert.pem, key: key.pem }, h2: true }
upstreams:
  default:
    peers: ["127.0.0.1:$((base + 1))", "127.0.0.1:$((base + 2))", "127.0.0.1:$((base + 3))"]
YAML
# shellcheck source=bench/nginx-upstreams.sh
source "$root/bench/nginx-upstreams.sh"
start_nginx_upstreams "$work" "$base"
LOG_LEVEL=warn taskset -c 1 "$node" "$root/bin/edgelb.js" -c "$work/edgelb.yaml" &
lb=$!
for _ in $(seq 100); do curl -s -o /dev/null "127.0.0.1:$base" && break; sleep 0.1; done

serving=$(serving_pid "$lb")
cpu() { awk '{print $14 + $15}' "/proc/$serving/stat"; }
report() { # name requests rps ticks
  echo "$1: $3 req/s, $(awk -v t="$4" -v n="$2" 'BEGIN {printf "%.1f", t * 10000 / n}') us CPU per request"
}
measure_wrk() { # name url
  taskset -c 0 wrk -t1 -c64 -d1s "$2" >/dev/null
  local before out; before=$(cpu)
  out=$(taskset -c 0 wrk -t1 -c64 -d"${secs}"s "$2")
  report "$1" "$(awk '/requests in/ {print $1}' <<<"$out")" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" $(($(cpu) - before))
}
measure_h2() {
  taskset -c 0 "$node" "$root/bench/h2-load.ts" "https://127.0.0.1:$((base + 4))/" 1 >/dev/null
  local before out; before=$(cpu)
  out=$(taskset -c 0 "$node" "$root/bench/h2-load.ts" "https://127.0.0.1:$((base + 4))/" "$secs" 4 16)
  report "HTTP/2 over TLS (4 connections x 16 streams)" "$(sed 's/.*"completed":\([0-9]*\).*/\1/' <<<"$out")" "$(sed 's/.*"rps":\([0-9]*\).*/\1/' <<<"$out")" $(($(cpu) - before))
}
measure_wrk "HTTP/1.1 plain (64 connections)" "http://127.0.0.1:$base/"
measure_wrk "HTTP/1.1 over TLS (64 connections)" "https://127.0.0.1:$((base + 4))/"
measure_h2
