/**
 * Where a request's time goes under the rig's load (docs/BENCHMARKS.md: three nginx upstreams,
 * one edgelb worker on CPU 1, `wrk -t1 -c64` on CPU 0), from three clocks read over the same run:
 * wrk's (the client's whole wait), edgelb's access log (`durationMs`: from the request reaching
 * the balancer to the end of its response; `upstreamTotalMs` − `upstreamConnectMs`: the part
 * after the request was handed to a connection to the peer), and the worker's event loop delay
 * (how late a 1 ms timer fires: how long the loop keeps a callback waiting).
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
import { killAllProcessesNow, startProcess, stopAllProcesses } from './rig/processes.ts';
import { sleep, waitUntil } from './rig/wait.ts';
import { runWrk } from './rig/wrk.ts';
import { percentile } from './stats.ts';

const seconds = Number(process.argv[2] ?? 10);
if (!Number.isInteger(seconds) || seconds < 1) {
  process.stderr.write('usage: npx node bench/latency-breakdown.ts [SECONDS]   (a whole number, at least 1)\n');
  process.exit(2);
}
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const READY_TIMEOUT_MS = 10_000;
/** The access log writes its lines in batches at least every 200 ms. */
const LOG_QUIET_MS = 400;

interface AccessLine {
  status: number;
  durationMs: number;
  upstreamConnectMs?: number;
  upstreamTotalMs?: number;
}

const dir = await mkdtemp(join(tmpdir(), 'edgelb-latency-'));
const cleanUp = async (code?: number) => {
  await stopAllProcesses();
  await rm(dir, { recursive: true, force: true });
  if (code !== undefined) process.exit(code);
};
process.once('SIGINT', () => void cleanUp(130));
process.once('SIGTERM', () => void cleanUp(143));
process.once('SIGHUP', () => void cleanUp(129));
process.on('exit', killAllProcessesNow);

try {
  const [port, statusPort, ...upstreamPorts] = await freePorts(5);
  const upstreams = await startNginx('upstreams', join(dir, 'upstreams'), upstreamsConfig(join(dir, 'upstreams'), upstreamPorts, statusPort!));
  for (const upstream of upstreamPorts) await waitForOk(`http://127.0.0.1:${upstream}/`, READY_TIMEOUT_MS, upstreams.isAlive);
  const bin = await buildEdgelb(repoRoot, join(dir, 'edgelb'));
  const accessLog = join(dir, 'access.log');
  const config = join(dir, 'edgelb.yaml');
  await writeFile(config, `listen: ["127.0.0.1:${port}"]
access_log: ${JSON.stringify(accessLog)}
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
  await waitForOk(url, READY_TIMEOUT_MS, edgelb.isAlive);
  const worker = childPids(edgelb.pid)[0];
  if (worker === undefined) throw new Error('edgelb started no worker process');
  // Without the hook, SIGUSR1 would open Node's inspector and SIGUSR2 kill the worker.
  await waitUntil('the worker to load bench/rig/loop-delay.ts', () => existsSync(join(dir, `loop-${worker}.ready`)), READY_TIMEOUT_MS);

  await runWrk(url, Math.min(3, seconds), '0');
  const logOffset = await settledSize(accessLog);
  process.kill(worker, 'SIGUSR1');
  const client = await runWrk(url, seconds, '0');
  process.kill(worker, 'SIGUSR2');
  const loopFile = join(dir, `loop-${worker}.json`);
  await waitUntil('the worker to write its event loop figures', () => existsSync(loopFile), READY_TIMEOUT_MS);
  const loop = JSON.parse(readFileSync(loopFile, 'utf8')) as { p50: number; p99: number; max: number };
  await settledSize(accessLog);

  const lines = readFileSync(accessLog).subarray(logOffset).toString('utf8').split('\n').filter(Boolean);
  // Requests wrk cut off when its time was up are not part of the load's latency.
  const answered = lines.map((line) => JSON.parse(line) as AccessLine).filter((entry) => entry.status === 200);
  const inBalancer = answered.map((entry) => entry.durationMs);
  const afterHandover = answered
    .filter((entry) => entry.upstreamTotalMs !== undefined && entry.upstreamConnectMs !== undefined)
    .map((entry) => entry.upstreamTotalMs! - entry.upstreamConnectMs!);
  const row = (what: string, p50: number, p99: number, max: number) =>
    console.log(`| ${what} | ${p50.toFixed(2)} ms | ${p99.toFixed(2)} ms | ${max.toFixed(1)} ms |`);
  const spread = (values: number[]) => [percentile(values, 50), percentile(values, 99), percentile(values, 100)] as const;
  console.log(`${client.requests} requests in ${client.durationSeconds.toFixed(1)} s (${Math.round(client.requestsPerSecond)} req/s), ${answered.length} answered in the access log\n`);
  console.log('| clock | p50 | p99 | max |\n| --- | --- | --- | --- |');
  row('client (wrk): the whole wait', client.p50Ms, client.p99Ms, client.maxMs);
  row('edgelb: request in → response end (access log `durationMs`)', ...spread(inBalancer));
  row('... after the request went to the peer\'s connection (`upstreamTotalMs` − `upstreamConnectMs`)', ...spread(afterHandover));
  row('how late a 1 ms timer fires in the worker (event loop delay)', loop.p50, loop.p99, loop.max);
} finally {
  await cleanUp();
}

/** The file's size once it has stopped growing: the access log has written out its batches. */
async function settledSize(file: string): Promise<number> {
  let size = statSync(file).size;
  let quietSince = Date.now();
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() - quietSince < LOG_QUIET_MS) {
    if (Date.now() > deadline) throw new Error(`${file} kept growing`);
    await sleep(50);
    const now = statSync(file).size;
    if (now !== size) {
      size = now;
      quietSince = Date.now();
    }
  }
  return size;
}
