/**
 * Can one prober on one core keep a 1 s interval over 2,000 peers?
 *
 * N TCP listeners on distinct loopback ports in this process are the peers; one
 * `edgelb probe` pinned to CPU 0 (taskset) checks them every second and writes to a local
 * redis-server (CPU 1, with this process). The achieved interval is read back from what the
 * prober wrote (each peer's successive `checkedAt`); the checks per second are counted at the
 * listeners; the prober's CPU time comes from /proc.
 * With `--registered` the peers are not in the config: each registers itself (the code of
 * `edgelb register`, one Redis connection per peer, in this process) into a pool with
 * `discovery: redis`, and the prober follows the registrations too.
 * Usage: node bench/shared-health/prober-scale.ts [--peers 2000] [--seconds 15] [--registered]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Registrar } from '../../src/store/redis-registrar.ts';
import { stopAllProcesses } from '../rig/processes.ts';
import { percentile } from '../stats.ts';
import { listener, portOf, startEdgelb, startRedisServer, writeConfig } from './rig.ts';

const { values } = parseArgs({
  options: { peers: { type: 'string', default: '2000' }, seconds: { type: 'string', default: '15' }, registered: { type: 'boolean', default: false } },
});
const quiet = { debug() {}, info() {}, warn() {}, error() {}, isLevelEnabled: () => false };
const peerCount = Number(values.peers);
const seconds = Number(values.seconds);

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

try {
  const redis = await startRedisServer('1');
  // Each check is one accepted connection: counting them gives the checks made per second.
  let accepted = 0;
  let counting = false;
  const servers = [];
  for (let i = 0; i < peerCount; i++) servers.push(await listener(0, () => counting && accepted++));
  const addresses = servers.map((s) => `127.0.0.1:${portOf(s)}`);
  const healthCheck = { interval: '1s', timeout: '1s' };
  const config = writeConfig('scale', {
    redis: redis.url,
    upstreams: { web: values.registered ? { discovery: 'redis', health_check: healthCheck } : { peers: addresses, health_check: healthCheck } },
  });
  const registrars = !values.registered ? [] : servers.map((server) => new Registrar({
    location: { host: '127.0.0.1', port: redis.port, db: 0, tls: false }, prefix: 'edgelb:', log: quiet,
    registration: { pool: 'web', spec: { host: '127.0.0.1', port: portOf(server), weight: 1, backup: false }, ttlMs: 10_000, registeredAt: Date.now() },
  }));
  for (const registrar of registrars) registrar.start();
  const prober = startEdgelb('prober', ['probe', '-c', config], { cpus: '0', logLevel: 'warn' });
  const client = new Redis({ port: redis.port, host: '127.0.0.1' });
  // Let the first rounds settle (start-up, the first full write) before measuring.
  await new Promise((resolve) => setTimeout(resolve, 4_000));
  const proberId = Object.keys(await client.hgetall('edgelb:probers'))[0] ?? '';
  if (!proberId) throw new Error(`the prober did not register: ${prober.proc.output()}`);

  // The intervals themselves come from the prober's own `checkedAt` stamps, read back from Redis
  // every 200 ms. A gap between two reads long enough to hide a whole check (this process
  // stalled) would fake a doubled interval, so no interval is counted across such a gap.
  const cpuBefore = cpuSeconds(prober.proc.pid);
  counting = true;
  const started = performance.now();
  const lastChecked = new Map<string, number>();
  const intervals: number[] = [];
  let previousRead = performance.now();
  let readGaps = 0;
  let view: Record<string, string> = {};
  while (performance.now() - started < seconds * 1000) {
    view = await client.hgetall(`edgelb:view:${proberId}`);
    const now = performance.now();
    if (now - previousRead > 900) {
      readGaps++;
      lastChecked.clear();
    }
    previousRead = now;
    for (const [peer, text] of Object.entries(view)) {
      const checkedAt = (JSON.parse(text) as { checkedAt: number }).checkedAt;
      const previous = lastChecked.get(peer);
      if (previous !== undefined && checkedAt !== previous) intervals.push(checkedAt - previous);
      lastChecked.set(peer, checkedAt);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  counting = false;
  const elapsed = (performance.now() - started) / 1000;
  const cpu = (cpuSeconds(prober.proc.pid) - cpuBefore) / elapsed;
  const down = Object.values(view).filter((text) => !(JSON.parse(text) as { up: boolean }).up).length;
  client.disconnect();
  const round = (ms: number) => Math.round(ms * 10) / 10;
  await Promise.all(registrars.map((registrar) => registrar.stop()));
  const result = {
    peers: peerCount,
    registered: values.registered,
    seconds,
    checksPerSecond: Math.round(accepted / elapsed),
    intervalsMeasured: intervals.length,
    readGapsSkipped: readGaps,
    intervalMeanMs: round(intervals.reduce((a, b) => a + b, 0) / intervals.length),
    intervalP50Ms: round(percentile(intervals, 50)),
    intervalP99Ms: round(percentile(intervals, 99)),
    intervalMaxMs: round(Math.max(...intervals)),
    intervalsOver1100Ms: intervals.filter((ms) => ms > 1100).length,
    peersInRedis: Object.keys(view).length,
    peersSeenDown: down,
    proberCpuOfOneCore: Math.round(cpu * 100) / 100,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  for (const server of servers) server.close();
} finally {
  await stopAllProcesses();
}
