import { execFile } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { buildEdgelb } from '../rig/edgelb-build.ts';
import { startHaproxy } from '../rig/haproxy.ts';
import { waitForOk } from '../rig/http.ts';
import { childPids } from '../rig/memory.ts';
import { startNginx } from '../rig/nginx.ts';
import { startProcess, type Proc } from '../rig/processes.ts';
import type { Backend } from './backend.ts';
import type { CertFiles } from './tls-cert.ts';

/** One proxy under test, in front of its own backend. */
export interface Proxy {
  readonly name: string;
  /** Plain HTTP/1.1. */
  readonly port: number;
  /** TLS, offering h2 and http/1.1 by ALPN. */
  readonly tlsPort: number;
  readonly backend: Backend;
  readonly proc: Proc;
  readonly config: string;
  /** Its serving processes now: edgelb's worker, nginx's workers, HAProxy itself. */
  servingPids(): number[];
  /** Log lines that tell of a crash or a restarted worker. */
  readonly alarms: string[];
}

export interface ProxyPorts {
  readonly port: number;
  readonly tlsPort: number;
}

const execFileAsync = promisify(execFile);

/**
 * Compiles edgelb as its package runs it (bench/rig/edgelb-build.ts) from the committed tree at
 * HEAD, exported with `git archive`, so what is measured is a commit even while the work tree
 * has edits in progress; `workingTree` compiles the files as they are instead.
 */
export async function buildEdgelbForProbes(repoRoot: string, dir: string, workingTree: boolean): Promise<string> {
  if (workingTree) return buildEdgelb(repoRoot, join(dir, 'build'));
  const tree = join(dir, 'head');
  await mkdir(tree, { recursive: true });
  await execFileAsync('git', ['-C', repoRoot, 'archive', '--format=tar', '-o', join(dir, 'head.tar'), 'HEAD']);
  await execFileAsync('tar', ['-xf', join(dir, 'head.tar'), '-C', tree]);
  await symlink(join(repoRoot, 'node_modules'), join(tree, 'node_modules'), 'dir');
  return buildEdgelb(tree, join(dir, 'build'));
}

/** Keeps the lines of a process's output that match `pattern` (the rig's own tail is only 8 KiB). */
function watch(proc: Proc, pattern: RegExp): string[] {
  const alarms: string[] = [];
  for (const stream of [proc.child.stdout, proc.child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => pattern.test(line) && alarms.push(line.slice(0, 300)));
  }
  return alarms;
}

async function ready(proc: Proc, port: number): Promise<void> {
  try {
    await waitForOk(`http://127.0.0.1:${port}/`, 15_000, proc.isAlive);
  } catch (error) {
    throw new Error(`${proc.name}: ${(error as Error).message}; output: ${proc.output().trim().split('\n').slice(-5).join(' | ')}`);
  }
}

/**
 * edgelb with one pool of the backend and every `limits` key at its default. The access log
 * stays at its default (on, to stdout, drained by the rig); LOG_LEVEL=info keeps the lines that
 * tell why a request was refused and whether a worker exited.
 */
export async function startEdgelb(bin: string, dir: string, ports: ProxyPorts, backend: Backend, cert: CertFiles): Promise<Proxy> {
  await mkdir(dir, { recursive: true });
  const config = `version: 1
listen:
  - 127.0.0.1:${ports.port}
  - { addr: 127.0.0.1:${ports.tlsPort}, tls: { cert: ${cert.cert}, key: ${cert.key} }, h2: true }
upstreams:
  default:
    peers: ["127.0.0.1:${backend.port}"]
`;
  const file = join(dir, 'edgelb.yaml');
  await writeFile(file, config);
  const proc = startProcess('edgelb', process.execPath, [bin, '-c', file], { env: { ...process.env, LOG_LEVEL: 'info' } });
  const alarms = watch(proc, /worker exited|replacement worker|"level":(50|60)/);
  await ready(proc, ports.port);
  return { name: 'edgelb', ...ports, backend, proc, config, servingPids: () => childPids(proc.pid), alarms };
}

/**
 * nginx 1.22 as Debian ships it where it matters here: `worker_processes auto`,
 * `worker_connections 768` and `keepalive_timeout 65` from Debian's nginx.conf, the rest nginx's
 * compiled-in defaults, written out so the report can quote them. A proxy_pass to an upstream
 * block with keep-alive, as nginx's docs describe it.
 */
export function nginxConfig(dir: string, ports: ProxyPorts, backend: Backend, cert: CertFiles): string {
  // As root, nginx switches workers to "nobody:nobody", a group Debian does not have.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${dir}/${kind};`).join('\n');
  return `${user}worker_processes auto;
daemon off;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 768; }
http {
  access_log off;
${temp}
  client_header_timeout 60s;
  client_body_timeout 60s;
  send_timeout 60s;
  keepalive_timeout 65s;
  large_client_header_buffers 4 8k;
  client_max_body_size 1m;
  http2_max_concurrent_streams 128;
  upstream backend {
    server 127.0.0.1:${backend.port};
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${ports.port};
    listen 127.0.0.1:${ports.tlsPort} ssl http2;
    ssl_certificate ${cert.cert};
    ssl_certificate_key ${cert.key};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

export async function startNginxProxy(dir: string, ports: ProxyPorts, backend: Backend, cert: CertFiles): Promise<Proxy> {
  const config = nginxConfig(dir, ports, backend, cert);
  const proc = await startNginx('nginx', dir, config);
  const alarms = watch(proc, /exited on signal|\[alert\]|\[emerg\]|\[crit\]/);
  await ready(proc, ports.port);
  return { name: 'nginx', ...ports, backend, proc, config, servingPids: () => childPids(proc.pid), alarms };
}

/**
 * HAProxy 2.6 as its configuration manual's examples have it: HTTP mode, the timeouts it warns
 * about without (connect, client, server), `timeout http-request 10s` against slow request
 * heads, one TLS bind offering h2; everything else (threads, maxconn, h2 streams) at its defaults.
 */
export function haproxyConfig(ports: ProxyPorts, backend: Backend, cert: CertFiles): string {
  return `defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-request 10s

frontend fe
  bind 127.0.0.1:${ports.port}
  bind 127.0.0.1:${ports.tlsPort} ssl crt ${cert.combined} alpn h2,http/1.1
  default_backend be

backend be
  server s1 127.0.0.1:${backend.port}
`;
}

export async function startHaproxyProxy(dir: string, ports: ProxyPorts, backend: Backend, cert: CertFiles): Promise<Proxy> {
  const config = haproxyConfig(ports, backend, cert);
  const proc = await startHaproxy(dir, config);
  const alarms = watch(proc, /ALERT|BUG|crash|Segmentation|core dumped/i);
  await ready(proc, ports.port);
  // With -db HAProxy is one process (its threads inside): a crash ends it.
  return { name: 'HAProxy', ...ports, backend, proc, config, servingPids: () => (proc.isAlive() ? [proc.pid] : []), alarms };
}
