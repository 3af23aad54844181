/**
 * How long a flip takes from the prober writing it to an edge applying it.
 *
 * redis-server, one `edgelb probe` and one `edgelb` edge as real processes; N TCP listeners in
 * this process are the peers. Each flip closes (or reopens) one listener; the prober's check
 * sees it, writes the new state and publishes it with its write time (`writtenAt`); the edge
 * logs the applied flip with `propagationMs` = its clock at apply − `writtenAt` (same machine,
 * same clock). Usage: node bench/shared-health/flip-latency.ts [--flips 200] [--peers 20]
 */
import { parseArgs } from 'node:util';
import { stopAllProcesses } from '../rig/processes.ts';
import { percentile } from '../stats.ts';
import { waitUntil } from '../rig/wait.ts';
import { listener, portOf, startEdgelb, startRedisServer, writeConfig } from './rig.ts';

const { values } = parseArgs({ options: { flips: { type: 'string', default: '200' }, peers: { type: 'string', default: '20' } } });
const flips = Number(values.flips);
const peerCount = Number(values.peers);

try {
  const redis = await startRedisServer();
  const servers = await Promise.all(Array.from({ length: peerCount }, () => listener()));
  const ports = servers.map(portOf);
  const config = writeConfig('flip', {
    listen: ['127.0.0.1:0'],
    redis: redis.url,
    upstreams: { web: { peers: ports.map((port) => `127.0.0.1:${port}`), health_check: { interval: '100ms', timeout: '100ms' } } },
  });
  const prober = startEdgelb('prober', ['probe', '-c', config]);
  await waitUntil('the prober', () => prober.logs.some((l) => l.msg === 'full state written to redis'));
  const edge = startEdgelb('edge', ['-c', config]);
  await waitUntil('the edge', () => edge.logs.some((l) => l.msg === 'edgelb is serving'));

  const applied = () => edge.logs.filter((l) => (l.msg === 'peer down' || l.msg === 'peer up') && l.via === 'push');
  const open = servers.map((server) => server as typeof server | undefined);
  for (let i = 0; i < flips; i++) {
    const index = i % peerCount;
    const before = applied().length;
    const server = open[index];
    if (server) {
      await new Promise((resolve) => server.close(resolve));
      open[index] = undefined;
    } else {
      open[index] = await listener(ports[index]);
    }
    await waitUntil(`flip ${i} to reach the edge`, () => applied().length > before, 5_000);
  }
  const latencies = applied().map((l) => l.propagationMs as number);
  const result = {
    flips: latencies.length,
    peers: peerCount,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: Math.max(...latencies),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  for (const server of open) server?.close();
} finally {
  await stopAllProcesses();
}
