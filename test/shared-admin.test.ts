import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { adminGet, adminUrl, sample } from './support/admin.ts';
import { killAll } from './support/processes.ts';
import { startRedis, type RedisServer } from './support/redis.ts';
import { answering, fleetConfig, startEdges, startProber, startUpstreams, waitForLog } from './support/shared-health.ts';
import { waitFor } from './support/wait-for.ts';

const TOKEN = 'test-token-0123456789abcdef';

/** The operator's view of a fleet of edges that share their health through Redis. */
describe('admin listener with redis', () => {
  let redis: RedisServer | undefined;
  afterEach(async () => {
    killAll();
    await redis?.kill();
    redis = undefined;
  });
  after(killAll);

  it('reports Redis connectivity in /metrics, and a drain on one edge reaches the other', async () => {
    redis = await startRedis();
    const upstreams = await startUpstreams('a', 'b');
    const config = { ...fleetConfig(redis.url, upstreams), admin: { listen: '127.0.0.1:0', token: TOKEN } };
    await startProber('p1', config);
    const [first, second] = await startEdges(2, config);
    const metrics = async () => (await (await adminGet(`${adminUrl(first!)}/metrics`, TOKEN)).text());
    assert.equal(sample(await metrics(), 'edgelb_redis_connected'), 1);

    const drained = await fetch(`${adminUrl(first!)}/pools/web/peers/${upstreams[0]!.address}/drain`, {
      method: 'POST', headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(drained.status, 200);
    await waitForLog(second!, 'peer drained', { peer: upstreams[0]!.address });
    assert.deepEqual(await answering(second!.url, 4), ['b', 'b', 'b', 'b']);

    await redis.kill();
    await waitFor('edgelb_redis_connected 0', async () => sample(await metrics(), 'edgelb_redis_connected') === 0);
    assert.deepEqual(await answering(first!.url, 4), ['b', 'b', 'b', 'b'], 'serves the last known set');
  });

  it('status --watch redraws the table as the health changes, and ends on Ctrl-C', async () => {
    redis = await startRedis();
    const upstreams = await startUpstreams('a', 'b');
    const config = fleetConfig(redis.url, upstreams);
    const prober = await startProber('p1', config);
    const watch = spawn(process.execPath, [join(import.meta.dirname, '../bin/edgelb.js'), 'status', '--watch', '-c', prober.configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    watch.stdout.on('data', (chunk: Buffer) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => watch.once('exit', resolve));
    const frames = () => output.split('edgelb status, every 1s').slice(1);
    const rowOf = (frame: string, peer: string) => frame.split('\n').find((line) => line.includes(peer)) ?? '';
    try {
      await waitFor('a frame with both peers up', () => frames().some((frame) => / up /.test(rowOf(frame, upstreams[0]!.address)) && / up /.test(rowOf(frame, upstreams[1]!.address))));
      await upstreams[0]!.kill();
      await waitFor('a later frame with the killed peer down', () => / down /.test(rowOf(frames().at(-1) ?? '', upstreams[0]!.address)));
      assert.match(rowOf(frames().at(-1)!, upstreams[1]!.address), / up /);
    } finally {
      watch.kill('SIGINT');
    }
    assert.equal(await exited, 0);
  });
});
