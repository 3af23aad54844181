import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_BODY } from '../workloads.ts';
import { startProcess, type Proc } from './processes.ts';

export const NGINX = '/usr/sbin/nginx';

/**
 * Everything nginx would otherwise put under /var or /etc goes into its own
 * directory, so runs never touch system state and never collide with each other.
 */
function preamble(dir: string): string {
  // As root, nginx switches workers to "nobody:nobody", a group Debian does not have.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
`;
}

function tempPaths(dir: string): string {
  return ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((kind) => `  ${kind}_temp_path ${dir}/${kind};`)
    .join('\n');
}

/**
 * The upstreams: one nginx process, one server block per port, plus a stub_status
 * block whose counters are shared by the whole process, hence cover all three.
 * Keep-alive limits are raised so that any connection churn we count comes from
 * the proxy under test, not from nginx's default of closing every 1000 requests.
 */
export function upstreamsConfig(dir: string, ports: readonly number[], statusPort: number, staticDir = dir): string {
  // `/16k` is a static file (see bench/workloads.ts). `/upload` reads the whole body before it
  // answers "ok" (the mirror's body read; POST to the static file there is a 405 turned into
  // 200): an upstream that answered first would have to close the connection, and a proxy could
  // not reuse it. Every other path gets "ok".
  const locations = [
    'location / { return 200 "ok"; }',
    `location /16k { root ${staticDir}; default_type application/octet-stream; }`,
    `location /upload { root ${staticDir}; mirror /discard; error_page 405 =200 @ok; }`,
    'location = /discard { internal; return 204; }',
    'location @ok { return 200 "ok"; }',
  ].join(' ');
  const servers = ports
    .map((port) => `  server { listen 127.0.0.1:${port}; ${locations} }`)
    .join('\n');
  return `${preamble(dir)}http {
  access_log off;
${tempPaths(dir)}
  client_max_body_size ${MAX_BODY};
  client_body_buffer_size ${MAX_BODY};
  keepalive_requests 1000000;
  keepalive_timeout 300s;
${servers}
  server { listen 127.0.0.1:${statusPort}; location / { stub_status; } }
}
`;
}

/** nginx as a reverse proxy; keepalive selects the pooled upstream variant. */
export function proxyConfig(dir: string, listenPort: number, upstreams: readonly number[], keepalive: boolean): string {
  const peers = upstreams.map((port) => `    server 127.0.0.1:${port};`).join('\n');
  const pool = keepalive ? '    keepalive 64;\n' : '';
  // Without HTTP/1.1 and an empty Connection header nginx closes each upstream connection.
  const reuse = keepalive ? '      proxy_http_version 1.1;\n      proxy_set_header Connection "";\n' : '';
  // Uploads are streamed to the upstream as they arrive, as edgelb and HAProxy do, instead of
  // being spooled to a temporary file first.
  return `${preamble(dir)}http {
  access_log off;
${tempPaths(dir)}
  client_max_body_size ${MAX_BODY};
  proxy_request_buffering off;
  upstream backends {
${peers}
${pool}  }
  server {
    listen 127.0.0.1:${listenPort};
    location / {
      proxy_pass http://backends;
${reuse}    }
  }
}
`;
}

export async function startNginx(name: string, dir: string, config: string, cpus?: string): Promise<Proc> {
  await mkdir(dir, { recursive: true });
  const configPath = join(dir, 'nginx.conf');
  await writeFile(configPath, config);
  // -e keeps nginx from opening /var/log/nginx/error.log before it has read our config.
  return startProcess(name, NGINX, ['-p', `${dir}/`, '-e', 'stderr', '-c', configPath], { cpus });
}
