import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, describe, it } from 'node:test';
import type { HealthReport } from '../src/core/shared-health/health-report.ts';
import { parseRedisUrl, type RedisLocation } from '../src/core/redis-url.ts';
import { Registrar } from '../src/store/redis-registrar.ts';
import { startLoad, type LoadResult } from './support/load.ts';
import { freePort } from './support/ports.ts';
import { killAll, runEdgelb, startEdgelb, startEdgelbCommand, type LogLine } from './support/processes.ts';
import { startRedis, type RedisServer } from './support/redis.ts';
import { startProber, startUpstreams, waitForLog } from './support/shared-health.ts';
import { waitFor } from './support/wait-for.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {}, isLevelEnabled: () => false };

/** A pool with one configured peer that also takes registered ones; no retries, so a request to a dead peer fails. */
function registeringConfig(redisUrl: string, configured: string[]) {
  return {
    redis: redisUrl,
    upstreams: {
      web: { peers: configured, discovery: 'redis', retries: 0, health_check: { interval: '300ms', timeout: '200ms' } },
    },
  };
}

function register(config: Record<string, unknown>, addr: string, ...extra: string[]) {
  return startEdgelbCommand(['register', '--pool', 'web', '--addr', addr, ...extra], config, 'registered');
}

async function status(configFile: string): Promise<HealthReport> {
  const { code, stdout, stderr } = await runEdgelb(['status', '-c', configFile, '--json']);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout) as HealthReport;
}

/** The epoch time (ms) of the load's first answer from `name`. */
function firstAnswer(result: LoadResult, name: string): number | undefined {
  const answer = result.answers.find((a) => a.name === name);
  return answer === undefined ? undefined : performance.timeOrigin + answer.at;
}

describe('peers registered in Redis (edgelb register)', () => {
  let redis: RedisServer | undefined;
  const servers: Server[] = [];
  afterEach(async () => {
    killAll();
    for (const server of servers.splice(0)) server.close();
    await redis?.kill();
  });
  after(killAll);

  it('a registered peer takes traffic within 1 s of its first passed check and never before; SIGTERM drains it with no failed request', async () => {
    redis = await startRedis();
    const [a, b] = await startUpstreams('a', 'b');
    const config = registeringConfig(redis.url, [a!.address]);
    await startProber('p1', config);
    const edge = await startEdgelb(config);
    const { live, stop: stopLoad } = startLoad(edge.url, 4, 30_000);

    // Nothing listens here: the peer joins but must never be sent a request (with no retries, one would fail).
    const dead = `127.0.0.1:${await freePort()}`;
    await register(config, dead);
    await waitForLog(edge, 'peer joined', { peer: dead, source: 'redis' });

    const sidecar = await register(config, b!.address);
    const up = await waitForLog(edge, 'peer up', { peer: b!.address, via: 'push' });
    await waitFor('b to answer', () => firstAnswer(live, 'b'), { timeoutMs: 5_000 });
    const firstPassedCheck = up.writtenAt as number;
    const firstToB = firstAnswer(live, 'b')!;
    assert.ok(firstToB > firstPassedCheck, `b answered ${firstPassedCheck - firstToB} ms before its first passed check`);
    assert.ok(firstToB - firstPassedCheck < 1_000, `b took traffic ${firstToB - firstPassedCheck} ms after its first passed check`);

    const report = await status(edge.configFile);
    const peers = new Map(report.pools[0]!.peers.map((p) => [p.id, p]));
    assert.equal(peers.get(a!.address)?.source, 'config');
    assert.equal(peers.get(b!.address)?.source, 'redis');
    assert.equal(peers.get(dead)?.state, 'down');
    assert.equal(peers.get(dead)?.inRotation, false);
    const table = await runEdgelb(['status', '-c', edge.configFile]);
    assert.match(table.stdout, new RegExp(`${b!.address.replaceAll('.', '\\.')}\\s+up\\s.*\\sredis\\s+\\d+\\.\\ds ago`));
    assert.match(table.stdout, new RegExp(`${a!.address.replaceAll('.', '\\.')}\\s+up\\s.*\\sconfig\\s+-`));

    // Slow answers, so requests are in flight to b when it leaves: they must finish.
    await b!.behave(200, 300);
    await waitFor('requests in flight to b', async () => (await b!.stats()).requests > 0 && live.answers.some((x) => x.name === 'b'));
    await sidecar.kill('SIGTERM');
    assert.equal(await sidecar.exited, 0);
    const left = await waitForLog(edge, 'peer left', { peer: b!.address, source: 'redis' });
    // Requests sent before the edge heard arrive at once; none may arrive after.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const requestsAtLeave = (await b!.stats()).requests;
    const okAtLeave = live.ok;
    await waitFor('a second of load after the leave', () => live.ok > okAtLeave + 200 && Date.now() > left.time + 1_000, { timeoutMs: 10_000 });
    const result = await stopLoad();
    assert.deepEqual(result.failures, []);
    assert.equal((await b!.stats()).requests, requestsAtLeave, 'no request reached b after it left');
    assert.ok(result.answers.some((x) => x.name === 'b' && performance.timeOrigin + x.at > left.time), 'a request in flight at the leave finished');
  });

  it('a killed sidecar\'s peer leaves once its registration expires', async () => {
    redis = await startRedis();
    const [a, b] = await startUpstreams('a', 'b');
    const config = registeringConfig(redis.url, [a!.address]);
    await startProber('p1', config);
    const edge = await startEdgelb(config);
    const sidecar = await register(config, b!.address, '--ttl', '2s');
    await waitForLog(edge, 'peer up', { peer: b!.address });
    const killedAt = Date.now();
    await sidecar.kill('SIGKILL');
    const left = await waitForLog(edge, 'peer left', { peer: b!.address }, killedAt, 10_000);
    const after = left.time - killedAt;
    // Renewed every third of the TTL, the registration lives 2/3 TTL to a TTL past the kill; edges read every second.
    assert.ok(after >= 1_200 && after <= 2_000 + 1_500, `left ${after} ms after the kill`);
    assert.deepEqual(await redis.client().smembers('edgelb:registered'), [], 'the expired entry is pruned from the index');
  });

  it('registrations made or lost during a Redis outage are made when Redis returns; edges keep their peers meanwhile', async () => {
    redis = await startRedis();
    const [a, b, c] = await startUpstreams('a', 'b', 'c');
    const config = registeringConfig(redis.url, [a!.address]);
    await startProber('p1', config);
    const edge = await startEdgelb(config);
    await register(config, b!.address, '--ttl', '2s');
    await waitForLog(edge, 'peer up', { peer: b!.address });
    const { live, stop: stopLoad } = startLoad(edge.url, 2, 30_000);

    await redis.kill();
    const downAt = Date.now();
    await startEdgelbCommand(['register', '--pool', 'web', '--addr', c!.address, '--ttl', '2s'], config, 'redis unreachable; registering again when it returns');
    // Longer than the TTL: the edge must not drop b for want of Redis.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const duringOutage = live.answers.filter((x) => performance.timeOrigin + x.at > downAt);
    assert.ok(duringOutage.some((x) => x.name === 'b'), 'b kept taking traffic through the outage');

    await redis.restart();
    const back = Date.now();
    await waitFor('b and c to answer after Redis returned', () =>
      ['b', 'c'].every((name) => live.answers.some((x) => x.name === name && performance.timeOrigin + x.at > back)), { timeoutMs: 10_000 });
    assert.deepEqual((await redis.client().smembers('edgelb:registered')).sort(), [`web/${b!.address}`, `web/${c!.address}`].sort());
    assert.deepEqual((await stopLoad()).failures, []);
  });

  it('100 peers registered at once all join, pass their checks and take traffic', async () => {
    redis = await startRedis();
    const [a] = await startUpstreams('a');
    const config = registeringConfig(redis.url, [a!.address]);
    const prober = await startProber('p1', config);
    const edge = await startEdgelb({ ...config, admin: { listen: `127.0.0.1:${await freePort()}` } });
    const names = Array.from({ length: 100 }, (_, i) => `r${i}`);
    const ports = await Promise.all(names.map(async (name) => {
      const server = createServer((_req, res) => res.setHeader('x-upstream', name).end(name));
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as AddressInfo).port;
    }));
    const location = parseRedisUrl(redis.url) as RedisLocation;
    const registrars = ports.map((port) => new Registrar({
      location, prefix: 'edgelb:', log: quiet, registration: { pool: 'web', spec: { host: '127.0.0.1', port, weight: 1, backup: false }, ttlMs: 10_000, registeredAt: Date.now() },
    }));
    const startedAt = Date.now();
    for (const registrar of registrars) registrar.start();
    try {
      const joined = (process: { logs: LogLine[] }) => process.logs.filter((line) => line.msg === 'peer joined' && line.time >= startedAt).length;
      await waitFor('every peer to join edge and prober', () => joined(edge) === 100 && joined(prober) === 100, { timeoutMs: 10_000 });
      await waitFor('every peer up', async () => (await status(edge.configFile)).pools[0]!.peers.filter((p) => p.source === 'redis' && p.inRotation).length === 100, { timeoutMs: 10_000 });
      const seen = new Set<string>();
      for (let i = 0; i < 202; i++) {
        const res = await fetch(edge.url);
        assert.equal(res.status, 200);
        seen.add(res.headers.get('x-upstream')!);
        await res.text();
      }
      assert.equal(seen.size, 101, 'round robin reaches every registered peer and the configured one');
    } finally {
      await Promise.all(registrars.map((registrar) => registrar.stop()));
    }
    await waitFor('every peer to leave', () => edge.logs.filter((line) => line.msg === 'peer left').length === 100, { timeoutMs: 10_000 });
  });
});
