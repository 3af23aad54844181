import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { killAll, runEdgelb, startEdgelb, startUpstream } from './support/processes.ts';
import { freePort } from './support/ports.ts';
import { waitFor } from './support/wait-for.ts';

const TOKEN = 'test-token-0123456789abcdef';

/** Without redis the health lives in the running balancer: `edgelb status` asks its admin listener. */
describe('edgelb status in embedded mode', () => {
  afterEach(killAll);
  after(killAll);

  it('prints the running balancer\'s table and JSON, and --watch follows a peer going down', async () => {
    const [a, b] = await Promise.all([startUpstream('a'), startUpstream('b')]);
    const lb = await startEdgelb({
      access_log: false,
      admin: { listen: `127.0.0.1:${await freePort()}`, token: TOKEN },
      upstreams: { web: { peers: [a.address, b.address], health_check: { interval: '300ms', timeout: '200ms' } } },
    });
    const rowOf = (text: string, peer: string) => text.split('\n').find((line) => line.includes(peer)) ?? '';

    const table = await runEdgelb(['status', '-c', lb.configFile]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /pool web/);
    assert.match(rowOf(table.stdout, a.address), / up /);
    const json = await runEdgelb(['status', '--json', '-c', lb.configFile]);
    const report = JSON.parse(json.stdout) as { pools: Array<{ name: string; peers: Array<{ id: string; state: string }> }> };
    assert.deepEqual(report.pools[0]!.peers.map((peer) => [peer.id, peer.state]), [[a.address, 'up'], [b.address, 'up']]);

    const watch = spawn(process.execPath, [join(import.meta.dirname, '../bin/edgelb.js'), 'status', '--watch', '-c', lb.configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    watch.stdout.on('data', (chunk: Buffer) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => watch.once('exit', resolve));
    const lastFrame = () => output.split('edgelb status, every 1s').at(-1) ?? '';
    try {
      await waitFor('a frame', () => / up /.test(rowOf(lastFrame(), b.address)));
      await b.kill();
      await waitFor('a frame with the killed peer down', () => / down /.test(rowOf(lastFrame(), b.address)));
    } finally {
      watch.kill('SIGINT');
    }
    assert.equal(await exited, 0);

    await lb.kill('SIGTERM');
    const gone = await runEdgelb(['status', '-c', lb.configFile]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /cannot reach the admin listener/);
  });
});
