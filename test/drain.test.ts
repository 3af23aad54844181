import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { adminUrl } from './support/admin.ts';
import { freePort } from './support/ports.ts';
import { killAll, runEdgelb, startEdgelb, startUpstream, type Edgelb } from './support/processes.ts';
import { waitFor } from './support/wait-for.ts';

const TOKEN = 'drain-token-0123456789abcdef';

/** Which upstream answered each of `count` requests. */
async function answeredBy(lb: Edgelb, count: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(lb.url);
    assert.equal(res.status, 200);
    await res.text();
    names.push(res.headers.get('x-upstream')!);
  }
  return names;
}

describe('draining', () => {
  afterEach(killAll);
  after(killAll);

  it('takes a peer out of rotation while its in-flight request finishes, and undrain brings it back', async () => {
    const [a, b] = await Promise.all([startUpstream('a'), startUpstream('b')]);
    const lb = await startEdgelb({
      access_log: false,
      admin: { listen: '127.0.0.1:0', token: TOKEN },
      upstreams: { web: { peers: [a.address, b.address] } },
    });
    const admin = adminUrl(lb);
    const call = (action: string) => fetch(`${admin}/pools/web/peers/${encodeURIComponent(a.address)}/${action}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });

    // Round robin: the first request goes to a, and stays there for 1.5 s.
    const slow = fetch(`${lb.url}/slow?ms=1500`).then(async (res) => ({ status: res.status, body: await res.text() }));
    await waitFor('the slow request to reach a', async () => (await a.stats()).slowPending === 1);

    const drained = await call('drain');
    assert.equal(drained.status, 200);
    const body = await drained.json() as { state: string; inFlight: number; drained: boolean };
    assert.equal(body.state, 'draining');
    assert.equal(body.drained, true);
    assert.equal(body.inFlight, 1, 'the answer says a request is still in flight');

    assert.deepEqual(new Set(await answeredBy(lb, 6)), new Set(['b']), 'no new request reaches the drained peer');
    assert.deepEqual(await slow, { status: 200, body: 'a slow\n' }, 'the in-flight request finished');
    assert.equal((await a.stats()).abandoned, 0);

    const undrained = await call('undrain');
    assert.equal(undrained.status, 200);
    assert.equal((await undrained.json() as { state: string }).state, 'up');
    assert.deepEqual(new Set(await answeredBy(lb, 4)), new Set(['a', 'b']), 'the peer is back in rotation');
    assert.ok(lb.logs.some((line) => line.msg === 'peer drained' && line.peer === a.address));
    assert.ok(lb.logs.some((line) => line.msg === 'peer undrained' && line.peer === a.address));

    const unknown = await fetch(`${admin}/pools/web/peers/127.0.0.1:1/drain`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(unknown.status, 404);
  });

  it('keeps a drain through a reload (SIGHUP) and a replaced worker, until it is undone', async () => {
    const [a, b] = await Promise.all([startUpstream('a'), startUpstream('b')]);
    const lb = await startEdgelb({ access_log: false, admin: { listen: '127.0.0.1:0', token: TOKEN }, upstreams: { web: { peers: [a.address, b.address] } } });
    const admin = adminUrl(lb);
    const call = (action: string) => fetch(`${admin}/pools/web/peers/${encodeURIComponent(a.address)}/${action}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal((await call('drain')).status, 200);
    assert.deepEqual(new Set(await answeredBy(lb, 4)), new Set(['b']));

    lb.process.kill('SIGHUP');
    await waitFor('the reload', () => lb.logs.some((line) => line.msg === 'configuration reloaded'), { timeoutMs: 15_000 });
    assert.deepEqual(new Set(await answeredBy(lb, 6)), new Set(['b']), 'still drained after the reload');
    const status = await (await fetch(`${admin}/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as { pools: { peers: { state: string }[] }[] };
    assert.equal(status.pools[0]!.peers[0]!.state, 'draining');

    const worker = lb.logs.filter((line) => line.msg === 'configuration reloaded').at(-1)!.workers as number[];
    process.kill(worker[0]!, 'SIGKILL');
    await waitFor('the replacement worker', () => lb.logs.some((line) => line.msg === 'replacement worker serving'), { timeoutMs: 15_000 });
    assert.deepEqual(new Set(await answeredBy(lb, 6)), new Set(['b']), 'still drained in the replacement worker');

    await waitFor('undrain through the new worker', async () => (await call('undrain')).status === 200);
    await waitFor('a back in rotation', async () => (await answeredBy(lb, 4)).includes('a'));
  });

  it('edgelb drain POOL PEER -c FILE drains through the admin listener of FILE', async () => {
    const [a, b] = await Promise.all([startUpstream('a'), startUpstream('b')]);
    const port = await freePort();
    const lb = await startEdgelb({
      access_log: false,
      admin: { listen: `127.0.0.1:${port}`, token: TOKEN },
      upstreams: { web: { peers: [a.address, b.address] } },
    });

    const drained = await runEdgelb(['drain', 'web', b.address, '-c', lb.configFile]);
    assert.equal(drained.code, 0, drained.stderr);
    assert.match(drained.stdout, new RegExp(`${b.address} in pool web is draining`));
    assert.deepEqual(new Set(await answeredBy(lb, 4)), new Set(['a']));

    const undrained = await runEdgelb(['undrain', 'web', b.address, '-c', lb.configFile]);
    assert.equal(undrained.code, 0, undrained.stderr);
    assert.match(undrained.stdout, /is back in rotation \(up\)/);
    assert.deepEqual(new Set(await answeredBy(lb, 4)), new Set(['a', 'b']));

    const unknown = await runEdgelb(['drain', 'web', '127.0.0.1:1', '-c', lb.configFile]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no peer "127.0.0.1:1" in pool "web"/);
    assert.equal((await runEdgelb(['drain', 'web'])).code, 2, 'a missing operand is a command line error');
    await lb.kill('SIGTERM');
    const unreachable = await runEdgelb(['drain', 'web', b.address, '-c', lb.configFile]);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot reach the admin listener at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  });
});
