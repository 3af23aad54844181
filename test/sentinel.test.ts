import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { validateConfig } from '../src/core/config.ts';
import { startLoad } from './support/load.ts';
import { killAll, runEdgelb, startEdgelb, startEdgelbCommand, type LogLine } from './support/processes.ts';
import { startSentinelSet, type SentinelSet } from './support/sentinel.ts';
import { startProber, startUpstreams, waitForLog } from './support/shared-health.ts';
import { waitFor } from './support/wait-for.ts';

describe('Redis with failover (Sentinel)', () => {
  let set: SentinelSet | undefined;
  afterEach(async () => {
    killAll();
    await set?.stop();
    set = undefined;
  });
  after(killAll);

  it('the master killed under load: no failed request; health, registrations and pushes carry on against the new master', async () => {
    set = await startSentinelSet();
    const [a, b, c, d] = await startUpstreams('a', 'b', 'c', 'd');
    const config = {
      redis: set.config,
      upstreams: { web: { peers: [a!.address, d!.address], discovery: 'redis', health_check: { interval: '300ms', timeout: '200ms' } } },
    };
    const prober = await startProber('p1', config);
    const edge = await startEdgelb(config);
    await startEdgelbCommand(['register', '--pool', 'web', '--addr', b!.address, '--ttl', '3s'], config, 'registered');
    await waitForLog(edge, 'peer up', { peer: b!.address });

    const { live, stop: stopLoad } = startLoad(edge.url, 4, 60_000);
    await waitFor('load through the edge', () => live.ok > 100);

    await set.killMaster();
    await waitFor('the Sentinel to promote the replica', async () => (await set!.masterPortNow()) === set!.replicaPort, { timeoutMs: 20_000 });
    const failedOver = Date.now();

    // A registration made after the failover reaches the edge: sidecar → new master → prober and edge.
    await startEdgelbCommand(['register', '--pool', 'web', '--addr', c!.address], config, 'registered');
    // On a timeout, what the edge and the prober said since the failover tells where it stuck.
    const since = (process: { logs: LogLine[] }) => process.logs.filter((line) => line.time >= failedOver - 3_000 && line.msg !== 'upstream peer').map((line) => `${line.msg} ${JSON.stringify(line)}`).join('\n');
    await waitFor('c to take traffic', () => live.answers.some((x) => x.name === 'c'), { timeoutMs: 20_000 }).catch((error: unknown) => {
      throw new Error(`${String(error)}\nedge:\n${since(edge)}\nprober:\n${since(prober)}`);
    });
    // A flip pushed after the failover reaches the edge: the subscription moved to the new master.
    await d!.kill();
    await waitForLog(edge, 'peer down', { peer: d!.address, via: 'push' }, failedOver, 15_000);
    // b's registration carried over (its sidecar renews it against the new master), well past its TTL.
    await waitFor('b, past its TTL, to still take traffic', () =>
      Date.now() > failedOver + 4_000 && live.answers.some((x) => x.name === 'b' && performance.timeOrigin + x.at > failedOver + 4_000), { timeoutMs: 15_000 });
    const result = await stopLoad();
    assert.deepEqual(result.failures, []);
    assert.ok(prober.logs.some((line) => line.time > failedOver - 5_000 && /redis reachable again|full state/.test(line.msg)), 'the prober rewrote its view');

    const status = await runEdgelb(['status', '-c', edge.configFile, '--json']);
    assert.equal(status.code, 0, status.stderr);
    const peers = (JSON.parse(status.stdout) as { pools: Array<{ peers: Array<{ id: string; source: string; state: string }> }> }).pools[0]!.peers;
    assert.deepEqual(peers.map((p) => [p.id, p.source, p.state]).sort(), [
      [a!.address, 'config', 'up'], [d!.address, 'config', 'down'], [b!.address, 'redis', 'up'], [c!.address, 'redis', 'up'],
    ].sort());
  });

  it('the object form of redis is checked like the URL', () => {
    assert.deepEqual(validateConfig({ redis: { sentinels: ['nowhere'], master: '' }, upstreams: { web: { peers: ['127.0.0.1:1'] } } }), {
      problems: ['redis.sentinels.0: "nowhere" is not host:port (IPv6 as [::1]:8080)', 'redis.master: Too small: expected string to have >=1 characters'],
    });
    assert.deepEqual(validateConfig({ redis: { sentinels: ['127.0.0.1:26379'], master: 'm', database: 1 }, upstreams: { web: { peers: ['127.0.0.1:1'] } } }), {
      problems: ['redis.database: unknown key'],
    });
    assert.deepEqual(validateConfig({ redis: 7, upstreams: { web: { peers: ['127.0.0.1:1'] } } }), {
      problems: ['redis: must be a redis:// URL or { sentinels, master }'],
    });
  });
});
