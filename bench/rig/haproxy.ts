import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startProcess, type Proc } from './processes.ts';

export const HAPROXY = '/usr/sbin/haproxy';

export function haproxyConfig(listenPort: number, upstreams: readonly number[]): string {
  const servers = upstreams.map((port, i) => `  server s${i + 1} 127.0.0.1:${port}`).join('\n');
  // Timeouts are only there because HAProxy warns without them; none is ever hit.
  return `global
  nbthread 1
  maxconn 4096

defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 30s
  timeout server 30s

frontend fe
  bind 127.0.0.1:${listenPort}
  default_backend be

backend be
  balance roundrobin
  http-reuse always
${servers}
`;
}

export async function startHaproxy(dir: string, config: string, cpus?: string): Promise<Proc> {
  await mkdir(dir, { recursive: true });
  const configPath = join(dir, 'haproxy.cfg');
  await writeFile(configPath, config);
  // -db: stay in the foreground as one process, so its pid is the one serving traffic.
  return startProcess('haproxy', HAPROXY, ['-db', '-f', configPath], { cpus });
}
