import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { startHaproxy, haproxyConfig } from './rig/haproxy.ts';
import { waitForOk } from './rig/http.ts';
import { childPids } from './rig/memory.ts';
import { proxyConfig, startNginx } from './rig/nginx.ts';
import { startProcess, stopProcess, type Proc } from './rig/processes.ts';

/** What every system gets to start from. */
export interface RigContext {
  repoRoot: string;
  edgelbBin: string;
  /** Private scratch directory for this system, inside the run's temporary directory. */
  dir: string;
  /** A free 127.0.0.1 port reserved for this system to listen on. */
  port: number;
  upstreamPorts: readonly number[];
  proxyCpus: string;
}

export interface RunningSystem {
  url: string;
  proc?: Proc;
  /** The process that serves the traffic, whose memory we report; undefined if none. */
  servingPid(): number | undefined;
}

export interface SystemSpec {
  id: string;
  label: string;
  start(ctx: RigContext): Promise<RunningSystem>;
}

export const READY_TIMEOUT_MS = 10_000;

/** Waits until the proxy answers 200; a system that never does is stopped and reported unavailable. */
async function ready(proc: Proc, url: string): Promise<RunningSystem> {
  try {
    await waitForOk(url, READY_TIMEOUT_MS, proc.isAlive);
  } catch (err) {
    await stopProcess(proc);
    const tail = proc.output().trim().split('\n').slice(-5).join(' | ');
    throw new Error(`${(err as Error).message}${tail ? `; output: ${tail}` : ''}`);
  }
  return { url, proc, servingPid: () => proc.pid };
}

function nginxProxy(id: string, label: string, keepalive: boolean): SystemSpec {
  return {
    id,
    label,
    async start(ctx) {
      const proc = await startNginx(id, ctx.dir, proxyConfig(ctx.dir, ctx.port, ctx.upstreamPorts, keepalive), ctx.proxyCpus);
      const system = await ready(proc, `http://127.0.0.1:${ctx.port}/`);
      // The master only supervises; the single worker is what handles requests.
      return { ...system, servingPid: () => childPids(proc.pid)[0] };
    },
  };
}

export const SYSTEMS: readonly SystemSpec[] = [
  {
    id: 'direct',
    label: 'direct to one upstream (ceiling)',
    async start(ctx) {
      return { url: `http://127.0.0.1:${ctx.upstreamPorts[0]}/`, servingPid: () => undefined };
    },
  },
  nginxProxy('nginx-keepalive', 'nginx proxy, upstream keepalive 64', true),
  nginxProxy('nginx-default', 'nginx proxy, default (no upstream keepalive)', false),
  {
    id: 'haproxy',
    label: 'HAProxy, nbthread 1, http-reuse always',
    async start(ctx) {
      const proc = await startHaproxy(ctx.dir, haproxyConfig(ctx.port, ctx.upstreamPorts), ctx.proxyCpus);
      return ready(proc, `http://127.0.0.1:${ctx.port}/`);
    },
  },
  {
    id: 'http-proxy',
    label: 'Node http-proxy, keep-alive agent',
    async start(ctx) {
      const script = join(ctx.repoRoot, 'bench', 'baselines', 'http-proxy.ts');
      // http-proxy still calls util._extend, whose deprecation warning is noise here.
      const args = ['--no-deprecation', script, String(ctx.port), ...ctx.upstreamPorts.map(String)];
      const proc = startProcess('http-proxy', process.execPath, args, { cwd: ctx.repoRoot, cpus: ctx.proxyCpus });
      return ready(proc, `http://127.0.0.1:${ctx.port}/`);
    },
  },
  {
    id: 'edgelb',
    label: 'edgelb',
    async start(ctx) {
      const bin = ctx.edgelbBin;
      if (!existsSync(bin)) throw new Error(`${relative(ctx.repoRoot, bin)} does not exist`);
      await mkdir(ctx.dir, { recursive: true });
      const config = join(ctx.dir, 'edgelb.yaml');
      const peers = ctx.upstreamPorts.map((port) => `"127.0.0.1:${port}"`).join(', ');
      await writeFile(
        config,
        `version: 1
listen: ["127.0.0.1:${ctx.port}"]
access_log: false   # as nginx and HAProxy run here: no access log
upstreams:
  default:
    peers: [${peers}]
    health_check: { type: tcp, interval: 1s, timeout: 1s }
`,
      );
      const proc = startProcess('edgelb', process.execPath, [bin, '-c', config], {
        cwd: ctx.repoRoot,
        env: { ...process.env, LOG_LEVEL: 'warn' },
        cpus: ctx.proxyCpus,
      });
      const system = await ready(proc, `http://127.0.0.1:${ctx.port}/`);
      // The primary holds the sockets and probes; the worker (threads: 1) handles requests.
      return { ...system, servingPid: () => childPids(proc.pid)[0] };
    },
  },
];

/** The row every req/s ratio is computed against. */
export const REFERENCE_SYSTEM_ID = 'nginx-keepalive';
