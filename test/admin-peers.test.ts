import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { adminUrl, promtoolProblems, sample } from './support/admin.ts';
import { startLoad } from './support/load.ts';
import { freePort } from './support/ports.ts';
import { killAll, runEdgelb, startEdgelb, startUpstream, type Edgelb } from './support/processes.ts';
import { waitForLog } from './support/shared-health.ts';
import { waitFor } from './support/wait-for.ts';

interface StatusPeer {
  id: string;
  source: string;
  state: string;
}

async function statusPeers(edge: Edgelb): Promise<StatusPeer[]> {
  const status = await (await fetch(`${adminUrl(edge)}/status`)).json() as { pools: Array<{ peers: StatusPeer[] }> };
  return status.pools[0]!.peers;
}

async function adminCall(edge: Edgelb, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${adminUrl(edge)}${path}`, {
    method,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}

describe('peers added and removed at run time (admin API, embedded mode)', () => {
  afterEach(killAll);
  after(killAll);

  it('edgelb peers add and remove under load: a new peer waits for its check, a removed one finishes its requests, nothing fails; SIGHUP keeps it', async () => {
    const [a, b, c] = await Promise.all([startUpstream('a'), startUpstream('b'), startUpstream('c')]);
    // No retries: a request sent to a dead or closed peer would fail visibly.
    const edge = await startEdgelb({
      access_log: false,
      admin: { listen: `127.0.0.1:${await freePort()}` },
      upstreams: { web: { peers: [a.address], retries: 0, health_check: { interval: '300ms', timeout: '200ms' } } },
    });
    const peers = (...args: string[]) => runEdgelb(['peers', ...args, '-c', edge.configFile]);
    const { live, stop: stopLoad } = startLoad(edge.url, 4, 60_000);

    const dead = `127.0.0.1:${await freePort()}`;
    assert.equal((await peers('add', 'web', dead)).code, 0);
    const added = await peers('add', 'web', b.address, '--weight', '2');
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /joined pool web/);
    await waitFor('b to take traffic', () => live.answers.some((x) => x.name === 'b'), { timeoutMs: 10_000 });
    const metrics = async () => (await fetch(`${adminUrl(edge)}/metrics`)).text();
    assert.ok((sample(await metrics(), 'edgelb_upstream_requests_in_flight', { pool: 'web', peer: b.address }) ?? -1) >= 0, 'an added peer has its series');
    const byId = new Map((await statusPeers(edge)).map((p) => [p.id, p]));
    assert.equal(byId.get(b.address)?.source, 'admin');
    assert.equal(byId.get(dead)?.state, 'down');

    // Refusals name what is wrong.
    assert.equal((await adminCall(edge, 'POST', '/pools/web/peers', { addr: b.address })).status, 409);
    assert.equal((await adminCall(edge, 'POST', '/pools/web/peers', { addr: a.address })).status, 409, 'a configured peer is there already');
    assert.deepEqual(await adminCall(edge, 'POST', '/pools/web/peers', { addr: 'nowhere' }), { status: 400, body: { error: 'addr: "nowhere" is not host:port (IPv6 as [::1]:8080)' } });
    assert.equal((await adminCall(edge, 'POST', '/pools/web/peers', '{')).status, 400);
    assert.equal((await adminCall(edge, 'POST', '/pools/nope/peers', { addr: b.address })).status, 404);
    const configured = await adminCall(edge, 'DELETE', `/pools/web/peers/${a.address}`);
    assert.equal(configured.status, 409);
    assert.match(String(configured.body.error), /the config file/);

    // SIGHUP: the added peers stay, in the new workers too.
    edge.process.kill('SIGHUP');
    await waitForLog(edge, 'configuration reloaded');
    const reloadedAt = Date.now();
    await waitFor('b to take traffic after the reload', () => live.answers.some((x) => x.name === 'b' && performance.timeOrigin + x.at > reloadedAt + 200), { timeoutMs: 10_000 });
    assert.equal((await statusPeers(edge)).find((p) => p.id === b.address)?.source, 'admin');

    // Removed with requests in flight: they finish, and no new one arrives.
    await b.behave(200, 300);
    await waitFor('requests in flight to b', async () => (await b.stats()).requests > 0);
    const removed = await peers('remove', 'web', b.address);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /left pool web; \d+ requests? in flight finish/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const requestsAtRemoval = (await b.stats()).requests;
    const okAtRemoval = live.ok;
    await waitFor('more load after the removal', () => live.ok > okAtRemoval + 200, { timeoutMs: 10_000 });
    assert.equal((await b.stats()).requests, requestsAtRemoval, 'no request reached b after its removal');
    assert.equal((await peers('remove', 'web', b.address)).code, 1, 'gone already');
    const after = await metrics();
    assert.ok(!after.includes(`peer="${b.address}"`), 'a removed peer takes its series with it');
    assert.equal(await promtoolProblems(after).then((problems) => problems.join('\n')), '');

    assert.equal((await peers('add', 'web', c.address)).code, 0);
    await waitFor('c to take traffic', () => live.answers.some((x) => x.name === 'c'), { timeoutMs: 10_000 });
    assert.deepEqual((await stopLoad()).failures, []);
  });
});
