# Sourced by the shell benchmarks (compare-revisions.sh, tls-h2.sh).

# Three nginx upstreams on 127.0.0.1:BASE+1..BASE+3 answering "ok"; /upload reads the whole body
# before answering (as in bench/rig/nginx.ts), so upstream connections are reused. They run on
# CPU 0 with the load generator, so that nothing but edgelb runs on CPU 1.
start_nginx_upstreams() {
  local work=$1 base=$2 server
  server='location / { return 200 "ok"; } location /upload { root '"$work"'; mirror /discard; error_page 405 =200 @ok; } location = /discard { internal; return 204; } location @ok { return 200 "ok"; }'
  cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
daemon on;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_body_temp_path $work/client_body;
  client_max_body_size 2m;
  client_body_buffer_size 2m;
  server { listen 127.0.0.1:$((base + 1)); $server }
  server { listen 127.0.0.1:$((base + 2)); $server }
  server { listen 127.0.0.1:$((base + 3)); $server }
}
NGINX
  touch "$work/upload"
  /usr/sbin/nginx -c "$work/nginx.conf" -p "$work"
  for pid in $(pgrep -f "nginx -c $work/nginx.conf") $(pgrep -P "$(cat "$work/nginx.pid")"); do taskset -pc 0 "$pid" >/dev/null; done
}

# The process that serves: edgelb's worker (the primary's child), else the process itself.
serving_pid() {
  local pid=$1 child
  child=$(awk '{print $1}' "/proc/$pid/task/$pid/children" 2>/dev/null)
  echo "${child:-$pid}"
}
