/**
 * Where a request's time goes under the rig's load (docs/BENCHMARKS.md: three nginx upstreams,
 * one edgelb worker on CPU 1, `wrk -t1 -c64` on CPU 0), from three clocks read over the same run:
 * wrk's (the client's whole wait), edgelb's access log (`durationMs`: from the request reaching
 * the balancer to the end of its response; `upstreamTotalMs`: the part spent on the peer), and
 * the worker's event loop delay (how long one turn of the loop takes). What the client waits
 * beyond the access log's figure is spent in socket buffers until the worker's loop comes round.
 *
 *   npx node bench/latency-breakdown.ts [SECONDS]      (needs nginx and wrk, as `npm run bench`)
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildEdgelb } from './rig/edgelb-build.ts';
import { waitForOk } from './rig/http.ts';
import { childPids } from './rig/memory.ts';
import { startNginx, upstreamsConfig } from './rig/nginx.ts';
import { freePorts } from './rig/ports.ts';
import { startProcess, stopAllProcesses } from './rig/processes.ts';
import { runWrk } from './rig/wrk.ts';
import { percentile } from './stats.ts';

const seconds = Number(process.argv[2] ?? 10);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The access log writes its lines in batches at least every 200 ms. */
const LOG_FLUSH_MS = 500;

const dir = await mkdtemp(join(tmpdir(), 'edgelb-latency-'));
try {
  const [port, statusPort, ...upstreamPorts] = await freePorts(5);
  await startNginx('upstreams', join(dir, 'upstreams'), upstreamsConfig(join(dir, 'upstreams'), upstreamPorts, statusPort!));
  const bin = await buildEdgelb(repoRoot, join(dir, 'edgelb'));
  const accessLog = join(dir, 'access.log');
  const config = join(dir, 'edgelb.yaml');
  await writeFile(config, `listen: ["127.0.0.1:${port}"]
access_log: ${accessLog}
upstreams:
  default:
    peers: [${upstreamPorts.map((upstream) => `"127.0.0.1:${upstream}"`).join(', ')}]
    keepalive_timeout: 60s
`);
  const edgelb = startProcess('edgelb', process.execPath, ['--import', join(repoRoot, 'bench/rig/loop-delay.ts'), bin, '-c', config], {
    cpus: '1',
    env: { ...process.env, LOG_LEVEL: 'warn', LOOP_DELAY_DIR: dir },
  });
  const url = `http://127.0.0.1:${port}/`;
  await waitForOk(url, 10_000, edgelb.isAlive);
  const worker = childPids(edgelb.pid)[0];
  if (worker === undefined) throw new Error('edgelb started no worker process');

  await runWrk(url, Math.min(3, seconds), '0');
  await sleep(LOG_FLUSH_MS);
  const logOffset = statSync(accessLog).size;
  process.kill(worker, 'SIGUSR1');
  const client = await runWrk(url, seconds, '0');
  process.kill(worker, 'SIGUSR2');
  await sleep(LOG_FLUSH_MS);
  const loopFile = join(dir, `loop-${worker}.json`);
  if (!existsSync(loopFile)) throw new Error('the worker wrote no event loop figures');
  const loop = JSON.parse(readFileSync(loopFile, 'utf8')) as { p50: number; p99: number; max: number };

  const lines = readFileSync(accessLog).subarray(logOffset).toString('utf8').split('\n').filter(Boolean);
  const inBalancer: number[] = [];
  const onPeer: number[] = [];
  for (const line of lines) {
    const entry = JSON.parse(line) as { durationMs: number; upstreamTotalMs?: number };
    inBalancer.push(entry.durationMs);
    if (entry.upstreamTotalMs !== undefined) onPeer.push(entry.upstreamTotalMs);
  }
  const row = (what: string, p50: number, p99: number, max: number) =>
    console.log(`| ${what} | ${p50.toFixed(2)} ms | ${p99.toFixed(2)} ms | ${max.toFixed(1)} ms |`);
  const spread = (values: number[]) => [percentile(values, 50), percentile(values, 99), percentile(values, 100)] as const;
  console.log(`${client.requests} requests in ${seconds} s (${Math.round(client.requestsPerSecond)} req/s), ${lines.length} access log lines\n`);
  console.log('| clock | p50 | p99 | max |\n| --- | --- | --- | --- |');
  row('client (wrk): the whole wait', client.p50Ms, client.p99Ms, client.maxMs);
  row('edgelb: request in → response end (access log `durationMs`)', ...spread(inBalancer));
  row('... of which on the peer (`upstreamTotalMs`)', ...spread(onPeer));
  row('one turn of the worker\'s event loop (delay of a 1 ms timer)', loop.p50, loop.p99, loop.max);
} finally {
  await stopAllProcesses();
  await rm(dir, { recursive: true, force: true });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
