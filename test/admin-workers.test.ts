import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { adminUrl, promtoolProblems, sample } from './support/admin.ts';
import { freePort } from './support/ports.ts';
import { killAll, startEdgelb, startUpstream, type Edgelb } from './support/processes.ts';
import { waitForLog } from './support/shared-health.ts';
import { waitFor } from './support/wait-for.ts';

interface Status {
  routes: Array<{ name: string; requests: number }>;
  pools: Array<{ peers: Array<{ id: string; requests: number; drained: boolean }> }>;
}

/** `count` requests, each on a connection of its own, so that the workers share them. */
async function send(url: string, count: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(url, { headers: { connection: 'close' } });
    assert.equal(res.status, 200);
    names.push(res.headers.get('x-upstream')!);
    await res.text();
  }
  return names;
}

const requestsTotal = (exposition: string, peers: readonly string[]) =>
  peers.reduce((sum, peer) => sum + (sample(exposition, 'edgelb_requests_total', { route: 'default', pool: 'web', peer, status_class: '2xx' }) ?? 0), 0);

/** The worker pids that sent requests upstream (debug log lines), since `after`. */
const servingWorkers = (edge: Edgelb, after: number) =>
  new Set(edge.logs.filter((line) => line.msg === 'upstream peer' && line.time >= after).map((line) => line.pid));

describe('the admin listener with two workers', () => {
  afterEach(killAll);
  after(killAll);

  it('/metrics and /status count every worker\'s requests, a drain holds in both, and the totals survive SIGHUP', async () => {
    const upstreams = await Promise.all(['a', 'b', 'c'].map((name) => startUpstream(name)));
    const peers = upstreams.map((u) => u.address);
    const edge = await startEdgelb({ threads: 2, access_log: false, admin: { listen: `127.0.0.1:${await freePort()}` }, upstreams: { web: { peers } } });
    const admin = adminUrl(edge);
    const metrics = async () => (await fetch(`${admin}/metrics`)).text();
    const status = async () => (await fetch(`${admin}/status`)).json() as Promise<Status>;

    const before = await metrics();
    assert.deepEqual(await promtoolProblems(before), []);
    assert.equal(requestsTotal(before, peers), 0);
    assert.equal(sample(before, 'edgelb_requests_total', { route: 'default', pool: 'web', peer: peers[0]!, status_class: '5xx' }), 0, 'series exist at 0 before traffic');

    const startedAt = Date.now();
    await send(edge.url, 300);
    assert.equal(servingWorkers(edge, startedAt).size, 2, 'both workers served');
    // Scraped through either worker (each scrape is a new connection), the sum is the same.
    for (let i = 0; i < 4; i++) assert.equal(requestsTotal(await metrics(), peers), 300);
    const counted = await status();
    assert.equal(counted.pools[0]!.peers.reduce((sum, p) => sum + p.requests, 0), 300);
    assert.equal(counted.routes[0]!.requests, 300);

    // A drain made through one worker holds in both.
    const drained = await fetch(`${admin}/pools/web/peers/${peers[0]}/drain`, { method: 'POST' });
    assert.equal(drained.status, 200);
    const afterDrain = Date.now();
    assert.ok(!(await send(edge.url, 60)).includes('a'), 'no worker sends requests to the drained peer');
    assert.equal(servingWorkers(edge, afterDrain).size, 2);
    assert.equal(sample(await metrics(), 'edgelb_peer_drained', { pool: 'web', peer: peers[0]! }), 1, 'merged over workers, still 1');

    // SIGHUP: new workers; the counts go on from where they were, and the drain holds.
    edge.process.kill('SIGHUP');
    await waitForLog(edge, 'configuration reloaded');
    // Logged once the old workers have drained and exited.
    assert.equal(requestsTotal(await metrics(), peers), 360, 'what the old workers counted outlives them');
    assert.ok(!(await send(edge.url, 40)).includes('a'), 'the drain outlives the reload');
    const reloaded = await metrics();
    assert.equal(requestsTotal(reloaded, peers), 400);
    assert.equal(sample(reloaded, 'edgelb_config_reloads_total'), 1, 'not one per worker');
    assert.deepEqual(await promtoolProblems(reloaded), []);
    assert.equal((await status()).pools[0]!.peers.reduce((sum, p) => sum + p.requests, 0), 400);
  });
});
