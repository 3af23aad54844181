import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import type { HealthReport } from '../src/core/shared-health/health-report.ts';
import { HEARTBEAT_TTL_MS, RESYNC_INTERVAL_MS } from '../src/core/shared-health/keys.ts';
import { load } from './support/load.ts';
import { killAll, runEdgelb, startEdgelb, startUpstream, type Edgelb } from './support/processes.ts';
import { freePort } from './support/ports.ts';
import { startRedis, type RedisServer } from './support/redis.ts';
import { answering, fleetConfig, startEdges, startProber, startUpstreams, waitForLog } from './support/shared-health.ts';
import { waitFor } from './support/wait-for.ts';

async function status(configFile: string): Promise<HealthReport> {
  const { code, stdout, stderr } = await runEdgelb(['status', '-c', configFile, '--json']);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout) as HealthReport;
}

const alive = (edge: Edgelb) => edge.process.exitCode === null && edge.process.signalCode === null;

describe('shared health in Redis', () => {
  let redis: RedisServer | undefined;
  afterEach(async () => {
    killAll();
    await redis?.kill();
  });
  after(killAll);

  /** Redis, upstreams a, b and c, one prober and two edges. */
  const startFleet = async () => {
    redis = await startRedis();
    const upstreams = await startUpstreams('a', 'b', 'c');
    const config = fleetConfig(redis.url, upstreams);
    return { redis, upstreams, prober: await startProber('p1', config), edges: await startEdges(2, config) };
  };

  it('a prober and two edges agree; a dead peer leaves both rotations; status --json shows it', async () => {
    const { upstreams, prober, edges } = await startFleet();
    for (const edge of edges) assert.deepEqual(await answering(edge.url), ['a', 'a', 'b', 'b', 'c', 'c']);

    const victim = upstreams[1]!;
    // Taken before the kill: the prober may see the peer gone before the test sees it exit.
    const killedAt = Date.now();
    await victim.kill();
    for (const edge of edges) await waitForLog(edge, 'peer down', { peer: victim.address, via: 'push' }, killedAt);
    for (const edge of edges) assert.deepEqual(await answering(edge.url), ['a', 'a', 'a', 'c', 'c', 'c']);

    const report = await status(prober.configFile);
    assert.equal(report.stale, false);
    assert.deepEqual(report.probers.map((p) => [p.id, p.live]), [['p1', true]]);
    const peers = report.pools[0]!.peers;
    assert.deepEqual(peers.map((p) => [p.id, p.state, p.inRotation]), [
      [upstreams[0]!.address, 'up', true],
      [victim.address, 'down', false],
      [upstreams[2]!.address, 'up', true],
    ]);
    assert.match(peers[1]!.reason ?? '', /ECONNREFUSED/);
    assert.ok(peers[1]!.checkedAt! >= killedAt && peers[1]!.since! >= killedAt, 'since and last check are after the kill');

    const table = await runEdgelb(['status', '-c', prober.configFile]);
    assert.equal(table.code, 0);
    assert.match(table.stdout, new RegExp(`${victim.address.replace(/\./g, '\\.')}\\s+down`));
    assert.match(table.stdout, /p1\s+live/);
  });

  it('a hung peer (stopped, so connections are not refused) leaves both edges\' rotation', async () => {
    redis = await startRedis();
    const upstreams = await startUpstreams('a', 'b', 'c');
    const config = fleetConfig(redis.url, upstreams, { type: 'http', path: '/' });
    await startProber('p1', config);
    const edges = await startEdges(2, { ...config, upstreams: { web: { ...config.upstreams.web, retries: 0, read_timeout: '10s' } } });
    const hung = upstreams[2]!;
    hung.process.kill('SIGSTOP');
    try {
      const stoppedAt = Date.now();
      for (const edge of edges) await waitForLog(edge, 'peer down', { peer: hung.address }, stoppedAt);
      for (const edge of edges) assert.deepEqual(await answering(edge.url), ['a', 'a', 'a', 'b', 'b', 'b']);
    } finally {
      hung.process.kill('SIGCONT');
    }
    for (const edge of edges) await waitForLog(edge, 'peer up', { peer: hung.address });
  });

  it('Redis killed under load: no failed request, no crashed process, dead peers still skipped', async () => {
    const { redis: server, upstreams, prober, edges } = await startFleet();
    let finish!: () => void;
    const stop = new Promise<void>((resolve) => (finish = resolve));
    const running = edges.map((edge) => load(edge.url, 8, stop, 30_000));

    await waitFor('load to run', () => edges.every((edge) => edge.logs.some((l) => l.msg === 'upstream peer')));
    await server.kill();
    const killedAt = Date.now();
    for (const edge of edges) await waitForLog(edge, 'redis unreachable; serving the last known healthy set');
    await waitForLog(prober, 'redis unreachable; checks go on and the full state is written when it returns');
    // A peer that dies while Redis is away is still skipped: its refused connections are retried.
    await upstreams[0]!.kill();
    await waitForLog(prober, 'peer down', { peer: upstreams[0]!.address });
    // Long enough for the edges' periodic re-read to come due (and fail) during the outage.
    const servedSince = Date.now();
    await waitFor('the edges to serve on without Redis past a re-read', () => Date.now() - killedAt > RESYNC_INTERVAL_MS + 1000 &&
      edges.every((edge) => edge.logs.filter((l) => l.msg === 'upstream peer' && l.time > servedSince).length > 50), { timeoutMs: 20_000 });
    finish();
    const results = await Promise.all(running);

    for (const result of results) {
      assert.deepEqual(result.failures, [], 'no client saw an error');
      assert.ok(result.ok > 50, `load ran (${result.ok} requests)`);
    }
    assert.ok(edges.every(alive), 'the edges still run');
    assert.ok(alive(prober as unknown as Edgelb), 'the prober still runs');
    for (const edge of edges) {
      assert.equal(edge.logs.filter((l) => l.msg === 'redis unreachable; serving the last known healthy set').length, 1, 'the outage is logged once');
    }
  });

  it('Redis restarted: the prober rewrites its state and pushes resume', async () => {
    const { redis: server, upstreams, prober, edges } = await startFleet();
    await server.kill();
    for (const edge of edges) await waitForLog(edge, 'redis unreachable; serving the last known healthy set');
    // Flips during the outage reach the edges only through the rewrite.
    await upstreams[0]!.kill();
    await waitForLog(prober, 'peer down', { peer: upstreams[0]!.address });
    const restartedAt = Date.now();
    await server.restart();
    await waitForLog(prober, 'redis reachable again; full state rewritten', {}, restartedAt);
    for (const edge of edges) {
      await waitForLog(edge, 'redis reachable again', {}, restartedAt);
      await waitForLog(edge, 'peer down', { peer: upstreams[0]!.address }, restartedAt);
    }
    const client = server.client();
    const view = await client.hgetall('edgelb:view:p1');
    assert.deepEqual(Object.keys(view).sort(), upstreams.map((u) => `web/${u.address}`).sort(), 'the whole view was written again');
    assert.equal(await client.exists('edgelb:heartbeat:p1'), 1, 'the empty Redis has the heartbeat again');
    assert.deepEqual(Object.keys(await client.hgetall('edgelb:probers')), ['p1'], 'and the prober registered again');

    const killedAt = Date.now();
    await upstreams[1]!.kill();
    for (const edge of edges) await waitForLog(edge, 'peer down', { peer: upstreams[1]!.address, via: 'push' }, killedAt);
    for (const edge of edges) assert.deepEqual(await answering(edge.url, 3), ['c', 'c', 'c']);
  });

  it('a hung Redis (stopped, connections open) is an outage too: logged, no failed request, caught up after', async () => {
    const { redis: server, upstreams, prober, edges } = await startFleet();
    const [edge] = edges;
    server.pause();
    let resumedAt = 0;
    try {
      for (const each of edges) await waitForLog(each, 'redis unreachable; serving the last known healthy set', {}, 0, 20_000);
      await waitForLog(prober, 'redis unreachable; checks go on and the full state is written when it returns');
      await upstreams[0]!.kill();
      await waitForLog(prober, 'peer down', { peer: upstreams[0]!.address });
      const names = await answering(edge!.url, 6);
      assert.ok(!names.includes('a'), `refused connections are retried on the next peer (${names})`);
    } finally {
      resumedAt = Date.now();
      server.resume();
    }
    // Generous deadlines: reconnections back off, and a loaded machine stretches them.
    await waitForLog(prober, 'redis reachable again; full state rewritten', {}, resumedAt, 20_000);
    for (const edge of edges) {
      await waitForLog(edge, 'redis reachable again', {}, resumedAt, 20_000);
      await waitForLog(edge, 'peer down', { peer: upstreams[0]!.address }, resumedAt, 20_000);
    }
    assert.ok(edges.every(alive) && alive(prober as unknown as Edgelb), 'every process still runs');
  });

  it('two probers, one killed: its view stops counting once its heartbeat expires; with none left the set goes stale', async () => {
    redis = await startRedis();
    const upstreams = await startUpstreams('a', 'b', 'c');
    const config = fleetConfig(redis.url, upstreams);
    const [first, second] = [await startProber('p1', config), await startProber('p2', config)];
    const [edge] = await startEdges(1, config);
    const victim = upstreams[0]!;
    await victim.kill();
    for (const process of [first, second, edge!]) await waitForLog(process, 'peer down', { peer: victim.address });
    const client = redis.client();
    await waitFor('p1 to have written its verdict', async () => (await client.hget('edgelb:view:p1', `web/${victim.address}`))?.includes('"up":false'));

    // Taken before the TTL is read, so the heartbeat cannot expire before `expiresAfter`, however
    // late p1's last beat was on a busy machine.
    const readAt = Date.now();
    const ttl = await client.pttl('edgelb:heartbeat:p1');
    assert.ok(ttl > 0 && ttl <= HEARTBEAT_TTL_MS, `p1 has a heartbeat with a TTL (${ttl}ms)`);
    const expiresAfter = readAt + ttl;
    await first.kill();
    const revived = await startUpstream(victim.name, victim.port);
    // p2 sees it up at once; the dead p1's last word (down) ties that until its heartbeat expires.
    await waitForLog(second, 'peer up', { peer: victim.address });
    const up = await waitForLog(edge!, 'peer up', { peer: victim.address }, 0, 15_000);
    assert.ok(up.time >= expiresAfter, `p1 counted until its heartbeat expired (${up.time - expiresAfter}ms after the expiry)`);
    assert.deepEqual(await answering(edge!.url), ['a', 'a', 'b', 'b', 'c', 'c']);
    const report = await status(second.configFile);
    assert.deepEqual(report.probers.map((p) => [p.id, p.live]), [['p1', false], ['p2', true]]);

    await second.kill('SIGTERM');
    await waitForLog(edge!, 'no live prober; serving the last known healthy set (stale)');
    assert.deepEqual(await answering(edge!.url), ['a', 'a', 'b', 'b', 'c', 'c'], 'the last set is still served');
    assert.equal((await status(second.configFile)).stale, true);
    await revived.kill();
  });

  it('an edge started while Redis is away serves every peer, then catches up', async () => {
    const port = await freePort();
    const upstreams = await startUpstreams('a', 'b');
    const config = fleetConfig(`redis://127.0.0.1:${port}/0`, upstreams);
    const edge = await startEdgelb(config);
    await waitForLog(edge, 'redis unreachable; serving the last known healthy set');
    assert.deepEqual(await answering(edge.url, 4), ['a', 'a', 'b', 'b']);
    await upstreams[1]!.kill();
    redis = await startRedis({ port });
    await startProber('p1', config);
    await waitForLog(edge, 'redis reachable again');
    await waitForLog(edge, 'peer down', { peer: upstreams[1]!.address });
    assert.deepEqual(await answering(edge.url, 2), ['a', 'a']);
  });

  it('works over TLS (rediss://) with a password', async () => {
    redis = await startRedis({ tls: true, password: 's3cret' });
    const upstreams = await startUpstreams('a', 'b');
    const config = fleetConfig(redis.url, upstreams);
    const env = { NODE_EXTRA_CA_CERTS: redis.caFile! };
    const prober = await startProber('p1', config, env);
    await waitForLog(prober, 'full state written to redis');
    const edge = await startEdgelb(config, env);
    await waitForLog(edge, 'shared health loaded from redis', { stale: false });
    await upstreams[0]!.kill();
    await waitForLog(edge, 'peer down', { peer: upstreams[0]!.address, via: 'push' });
    assert.deepEqual(await answering(edge.url, 2), ['b', 'b']);
  });

  it('a prober that sees the peers differently is outvoted by the majority', async () => {
    redis = await startRedis();
    const upstreams = await startUpstreams('a', 'b', 'c');
    const config = fleetConfig(redis.url, upstreams);
    await startProber('p1', config);
    await startProber('p2', config);
    // A stricter vantage point: an HTTP check that waits on a slow path fails on every peer.
    const strict = await startProber('p3', fleetConfig(redis.url, upstreams, { type: 'http', path: '/slow?ms=2000', timeout: '200ms' }));
    for (const upstream of upstreams) await waitForLog(strict, 'peer down', { peer: upstream.address });
    const [edge] = await startEdges(1, config);

    const report = await status(edge!.configFile);
    for (const peer of report.pools[0]!.peers) {
      assert.equal(peer.state, 'up');
      assert.deepEqual(peer.votes, { up: 2, down: 1 });
      assert.equal(peer.views.p3?.up, false);
    }
    assert.deepEqual(await answering(edge!.url), ['a', 'a', 'b', 'b', 'c', 'c']);
    assert.ok(!edge!.logs.some((l) => l.msg === 'peer down'), 'no peer left the rotation');
  });
});

describe('redis config and commands', () => {
  it('rejects a bad Redis URL or prefix with a message naming the key', async () => {
    const cases: Array<[string, RegExp]> = [
      ['redis: http://127.0.0.1:6379/0', /redis: "http:" is not a Redis scheme/],
      ['redis: "not a url"', /redis: "not a url" is not a URL/],
      ['redis: redis://127.0.0.1:6379/99', /redis: database "99" must be a number from 0 to 15/],
      ['redis: redis://127.0.0.1:99999/0', /redis: "redis:\/\/127\.0\.0\.1:99999\/0" is not a URL/],
      ['redis_prefix: "two words"', /redis_prefix: letters, digits/],
      ['redis_prefix: "fleet}{a:"', /redis_prefix: letters, digits/],
    ];
    for (const [line, expected] of cases) {
      const result = await runEdgelb(['-t', '-c', await writeConfig(`upstreams: { web: { peers: ["127.0.0.1:1"] } }\n${line}\n`)]);
      assert.equal(result.code, 1, line);
      assert.match(result.stderr, expected);
    }
    const good = await runEdgelb(['-t', '-c', await writeConfig(
      'upstreams: { web: { peers: ["127.0.0.1:1"] } }\nredis: rediss://:s3cret@redis.example:6380/2\nredis_prefix: "fleet-a:"\n')]);
    assert.equal(good.code, 0, good.stderr);
    const tagged = await runEdgelb(['-t', '-c', await writeConfig('upstreams: { web: { peers: ["127.0.0.1:1"] } }\nredis_prefix: "{fleet-a}:"\n')]);
    assert.equal(tagged.code, 0, tagged.stderr);
  });

  it('probe and status need redis, and say so; status reports an unreachable Redis', async () => {
    const embedded = await writeConfig('upstreams: { web: { peers: ["127.0.0.1:1"] } }\n');
    for (const command of ['probe', 'status']) {
      const result = await runEdgelb([command, '-c', embedded]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`redis: "edgelb ${command}" needs the shared store`));
    }
    const nowhere = await writeConfig(`upstreams: { web: { peers: ["127.0.0.1:1"] } }\nredis: redis://:pw@127.0.0.1:${await freePort()}/0\n`);
    const result = await runEdgelb(['status', '-c', nowhere]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot read the health from redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0: .*ECONNREFUSED/);
  });
});

async function writeConfig(text: string): Promise<string> {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const file = join(mkdtempSync(join(tmpdir(), 'edgelb-redis-')), 'edgelb.yaml');
  writeFileSync(file, text);
  return file;
}
