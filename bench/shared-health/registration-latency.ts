/**
 * How long a registered peer waits for traffic, and how soon a deregistered one stops getting it.
 *
 * redis-server, one `edgelb probe` and one `edgelb` edge as real processes; a steady load of
 * keep-alive requests from this process goes through the edge to one configured peer. Each round
 * starts an HTTP listener here and registers it (the `edgelb register` code, in this process, so
 * the start is timed exactly); the listener stamps its first health-check connection and its
 * first proxied request. Then the registration is withdrawn and the last request's arrival is
 * stamped. Same machine, same clock. Usage:
 *   node bench/shared-health/registration-latency.ts [--rounds 30] [--interval 1s]
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { Registrar } from '../../src/store/redis-registrar.ts';
import { stopAllProcesses } from '../rig/processes.ts';
import { waitUntil } from '../rig/wait.ts';
import { percentile } from '../stats.ts';
import { startEdgelb, startRedisServer, writeConfig } from './rig.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '30' }, interval: { type: 'string', default: '1s' } } });
const rounds = Number(values.rounds);
const quiet = { debug() {}, info() {}, warn() {}, error() {}, isLevelEnabled: () => false };

interface Stamps {
  firstConnection?: number;
  firstRequest?: number;
  lastRequest?: number;
}

/** A peer that records when it was first connected to (the health check) and when requests came. */
async function stampedPeer(stamps: Stamps): Promise<Server> {
  const server = createServer((_req, res) => {
    const now = performance.now();
    stamps.firstRequest ??= now;
    stamps.lastRequest = now;
    res.end('ok');
  });
  server.on('connection', (_socket: Socket) => (stamps.firstConnection ??= performance.now()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

try {
  const redis = await startRedisServer();
  const configured = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => configured.listen(0, '127.0.0.1', resolve));
  const config = writeConfig('registration', {
    listen: ['127.0.0.1:0'],
    redis: redis.url,
    upstreams: {
      web: { peers: [`127.0.0.1:${(configured.address() as AddressInfo).port}`], discovery: 'redis', health_check: { interval: values.interval, timeout: '500ms' } },
    },
    access_log: false,
  });
  const prober = startEdgelb('prober', ['probe', '-c', config], { logLevel: 'info' });
  await waitUntil('the prober', () => prober.logs.some((l) => l.msg === 'full state written to redis'));
  const edge = startEdgelb('edge', ['-c', config], { logLevel: 'info' });
  await waitUntil('the edge', () => edge.logs.some((l) => l.msg === 'edgelb is serving'));
  const serving = edge.logs.find((l) => l.msg === 'edgelb is serving')!;
  const edgeUrl = `http://${(serving.listen as string[])[0]}`;

  const client = new Pool(edgeUrl, { connections: 4 });
  let loading = true;
  let failures = 0;
  const loader = Promise.all(Array.from({ length: 4 }, async () => {
    while (loading) {
      try {
        const res = await client.request({ path: '/', method: 'GET' });
        await res.body.text();
        if (res.statusCode !== 200) failures++;
      } catch {
        failures++;
      }
    }
  }));

  const toCheck: number[] = [];
  const checkToTraffic: number[] = [];
  const toTraffic: number[] = [];
  const leaveToQuiet: number[] = [];
  const location = { host: '127.0.0.1', port: redis.port, db: 0, tls: false };
  for (let round = 0; round < rounds; round++) {
    const stamps: Stamps = {};
    const server = await stampedPeer(stamps);
    const port = (server.address() as AddressInfo).port;
    const registrar = new Registrar({
      location, prefix: 'edgelb:', log: quiet,
      registration: { pool: 'web', spec: { host: '127.0.0.1', port, weight: 1, backup: false }, ttlMs: 10_000, registeredAt: Date.now() },
    });
    const registeredAt = performance.now();
    registrar.start();
    await waitUntil(`round ${round}: traffic to the new peer`, () => stamps.firstRequest !== undefined, 10_000);
    toCheck.push(stamps.firstConnection! - registeredAt);
    checkToTraffic.push(stamps.firstRequest! - stamps.firstConnection!);
    toTraffic.push(stamps.firstRequest! - registeredAt);
    await registrar.stop();
    const withdrawnAt = performance.now();
    // Requests already sent arrive within moments; a peer still in rotation would go on getting them.
    await new Promise((resolve) => setTimeout(resolve, 500));
    leaveToQuiet.push(Math.max(0, stamps.lastRequest! - withdrawnAt));
    server.close();
  }
  loading = false;
  await loader;
  await client.close();
  configured.close();
  const summary = (values: number[]) => ({
    p50Ms: Math.round(percentile(values, 50) * 10) / 10,
    p99Ms: Math.round(percentile(values, 99) * 10) / 10,
    maxMs: Math.round(Math.max(...values) * 10) / 10,
  });
  process.stdout.write(`${JSON.stringify({
    rounds,
    healthCheckInterval: values.interval,
    registrationToFirstCheck: summary(toCheck),
    firstCheckToTraffic: summary(checkToTraffic),
    registrationToTraffic: summary(toTraffic),
    deregistrationToLastRequest: summary(leaveToQuiet),
    failedRequests: failures,
  })}\n`);
} finally {
  await stopAllProcesses();
}
