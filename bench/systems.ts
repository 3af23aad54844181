import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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
  /** Every CPU of the rig, for a system that runs one worker per core. */
  allCpus: string;
}

export interface RunningSystem {
  url: string;
  proc?: Proc;
  /** The processes that serve the traffic, whose memory we report (summed); empty if none. */
  servingPids(): number[];
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
  return { url, proc, servingPids: () => [proc.pid] };
}

function nginxProxy(id: string, label: string, keepalive: boolean): SystemSpec {
  return {
    id,
    label,
    async start(ctx) {
      const proc = await startNginx(id, ctx.dir, proxyConfig(ctx.dir, ctx.port, ctx.upstreamPorts, keepalive), ctx.proxyCpus);
      const system = await ready(proc, `http://127.0.0.1:${ctx.port}/`);
      // The master only supervises; the single worker is what handles requests.
      return { ...system, servingPids: () => childPids(proc.pid).slice(0, 1) };
    },
  };
}

/**
 * edgelb with the rig's upstreams. With `threads: 1` it is pinned to the proxies' CPU like every
 * other system; with more, its primary and workers get every CPU of the rig (taskset applies to
 * the whole process tree, so the workers share CPU 0 with wrk), and the row exists only if the
 * version under test really runs that many worker processes.
 */
/** A Node proxy from bench/baselines/, started as `node [FLAGS] SCRIPT PORT UPSTREAM_PORT...`. */
function nodeBaseline(id: string, label: string, script: string, nodeFlags: readonly string[] = []): SystemSpec {
  return {
    id,
    label,
    async start(ctx) {
      const args = [...nodeFlags, join(ctx.repoRoot, 'bench', 'baselines', script), String(ctx.port), ...ctx.upstreamPorts.map(String)];
      const proc = startProcess(id, process.execPath, args, { cwd: ctx.repoRoot, cpus: ctx.proxyCpus });
      return ready(proc, `http://127.0.0.1:${ctx.port}/`);
    },
  };
}

function edgelb(id: string, label: string, threads: number): SystemSpec {
  return {
    id,
    label,
    async start(ctx) {
      const bin = ctx.edgelbBin;
      if (!existsSync(bin)) throw new Error(`${relative(ctx.repoRoot, bin)} does not exist`);
      await mkdir(ctx.dir, { recursive: true });
      const config = join(ctx.dir, 'edgelb.yaml');
      const peers = ctx.upstreamPorts.map((port) => `"127.0.0.1:${port}"`).join(', ');
      await writeFile(
        config,
        `version: 1
${threads > 1 ? `threads: ${threads}\n` : ''}listen: ["127.0.0.1:${ctx.port}"]
access_log: false   # as nginx and HAProxy run here: no access log
upstreams:
  default:
    peers: [${peers}]
    health_check: { type: tcp, interval: 1s, timeout: 1s }
    keepalive_timeout: 60s   # as nginx keeps idle upstream connections (its keepalive_timeout)
`,
      );
      const proc = startProcess(id, process.execPath, [bin, '-c', config], {
        cwd: ctx.repoRoot,
        env: { ...process.env, LOG_LEVEL: 'warn' },
        cpus: threads > 1 ? ctx.allCpus : ctx.proxyCpus,
      });
      const system = await ready(proc, `http://127.0.0.1:${ctx.port}/`);
      const workers = await waitForChildren(proc.pid, threads);
      if (threads > 1 && workers < threads) {
        await stopProcess(proc);
        throw new Error(`threads: ${threads} ran ${workers} worker process(es) in this version`);
      }
      // The primary holds the sockets and probes; the workers handle the requests.
      return { ...system, servingPids: () => childPids(proc.pid) };
    },
  };
}

async function waitForChildren(pid: number, count: number): Promise<number> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let seen = childPids(pid).length;
  while (seen < count && Date.now() < deadline) {
    await sleep(100);
    seen = childPids(pid).length;
  }
  return seen;
}

export const SYSTEMS: readonly SystemSpec[] = [
  {
    id: 'direct',
    label: 'direct to one upstream (ceiling)',
    async start(ctx) {
      return { url: `http://127.0.0.1:${ctx.upstreamPorts[0]}/`, servingPids: () => [] };
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
  // http-proxy still calls util._extend, whose deprecation warning is noise here.
  nodeBaseline('http-proxy', 'Node http-proxy, keep-alive agent', 'http-proxy.ts', ['--no-deprecation']),
  nodeBaseline('fastify-reply-from', 'fastify + @fastify/reply-from, undici BalancedPool', 'fastify-reply-from.ts'),
  nodeBaseline('bare-undici', 'bare node:http + undici Pool.stream (reference, not a balancer)', 'bare-undici.ts'),
  edgelb('edgelb', 'edgelb', 1),
  edgelb('edgelb-threads-2', 'edgelb, threads: 2 (on both CPUs)', 2),
];

/** The row every req/s ratio is computed against. */
export const REFERENCE_SYSTEM_ID = 'nginx-keepalive';

/** The Node baseline the issue's "2.5× node http-proxy" target compares against. */
export const NODE_BASELINE_ID = 'http-proxy';
