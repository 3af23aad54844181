import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { request } from 'undici';
import { adminUrl, sample } from './support/admin.ts';
import { client } from './support/http.ts';
import { killAll, startEdgelb, startUpstream, type Edgelb } from './support/processes.ts';
import { waitFor } from './support/wait-for.ts';

/** One GET: who answered (the `x-upstream` header) and the status. */
async function ask(lb: Edgelb): Promise<{ status: number; upstream: string | undefined }> {
  const res = await request(`${lb.url}/`, { dispatcher: client });
  await res.body.text();
  return { status: res.statusCode, upstream: res.headers['x-upstream'] as string | undefined };
}

async function askMany(lb: Edgelb, count: number): Promise<{ status: number; upstream: string | undefined }[]> {
  const answers = [];
  for (let i = 0; i < count; i++) answers.push(await ask(lb));
  return answers;
}

describe('balancing policies', () => {
  afterEach(killAll);

  it('weights 5:1:1 give nginx\'s smooth order, without bursts', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => startUpstream(name)));
    const lb = await startEdgelb({ upstreams: { web: { peers: [{ addr: a!.address, weight: 5 }, b!.address, c!.address] } } });
    const order = (await askMany(lb, 14)).map((answer) => answer.upstream);
    assert.deepEqual(order, ['a', 'a', 'b', 'a', 'c', 'a', 'a', 'a', 'a', 'b', 'a', 'c', 'a', 'a']);
  });

  for (const selection of ['least_request', 'ewma']) {
    it(`${selection} sends under 15% of concurrent requests to a peer 20 times slower`, async () => {
      const upstreams = await Promise.all(['fast-1', 'fast-2', 'slow'].map((name) => startUpstream(name)));
      await upstreams[0]!.behave(200, 2);
      await upstreams[1]!.behave(200, 2);
      await upstreams[2]!.behave(200, 40);
      const lb = await startEdgelb({ access_log: false, upstreams: { web: { peers: upstreams.map((u) => u.address), selection } } });
      await underLoad(lb);
    });
  }

  it('consistent_hash keeps each key on one peer, and a key\'s requests move only when its peer leaves', async () => {
    const upstreams = await Promise.all(['h1', 'h2', 'h3'].map((name) => startUpstream(name)));
    const lb = await startEdgelb({ upstreams: { web: { peers: upstreams.map((u) => u.address), selection: 'consistent_hash', hash_key: 'header:X-User', health_check: { interval: '200ms' } } } });
    const askAs = async (user: string) => {
      const res = await request(`${lb.url}/`, { dispatcher: client, headers: { 'x-user': user } });
      await res.body.text();
      return res.headers['x-upstream'] as string;
    };
    const users = Array.from({ length: 30 }, (_, i) => `user-${i}`);
    const home = new Map<string, string>();
    for (const user of users) home.set(user, await askAs(user));
    for (const user of users) assert.equal(await askAs(user), home.get(user), `${user} stays on its peer`);
    assert.equal(new Set(home.values()).size, 3, 'the users spread over all three');
    const leaving = upstreams[0]!;
    await leaving.kill();
    await waitFor('the peer to leave the rotation', async () => (await Promise.all(users.map(askAs))).every((peer) => peer !== leaving.name), { timeoutMs: 5_000 });
    for (const user of users) {
      if (home.get(user) !== leaving.name) assert.equal(await askAs(user), home.get(user), `${user} was not on the leaving peer and did not move`);
    }
  });

  async function underLoad(lb: Edgelb): Promise<void> {
    const counts = new Map<string, number>();
    let total = 0;
    // 16 clients, 40 requests each: bounded, whatever the speeds.
    await Promise.all(Array.from({ length: 16 }, async () => {
      for (let i = 0; i < 40; i++) {
        const { status, upstream } = await ask(lb);
        assert.equal(status, 200);
        counts.set(upstream!, (counts.get(upstream!) ?? 0) + 1);
        total++;
      }
    }));
    const slowShare = (counts.get('slow') ?? 0) / total;
    assert.ok(slowShare < 0.15, `the slow peer took ${(slowShare * 100).toFixed(1)}% (${JSON.stringify(Object.fromEntries(counts))})`);
  }

  it('ejects a peer answering 500 while its checks pass, lets it back after the ejection time, and ejects it longer the second time', async () => {
    const [sick, well] = await Promise.all([startUpstream('sick'), startUpstream('well')]);
    await sick!.behave(500);
    const token = 'outlier-token-0123456789abcdef';
    const lb = await startEdgelb({
      admin: { listen: '127.0.0.1:0', token },
      upstreams: { web: { peers: [sick!.address, well!.address], outlier_detection: { consecutive_failures: 3, failure_statuses: [500], base_ejection_time: '1s' } } },
    });
    const ejected = () => lb.logs.filter((line) => line.msg === 'peer ejected');
    // Round robin: every other request goes to the sick peer until its third 500.
    const before = await askMany(lb, 6);
    assert.equal(before.filter((answer) => answer.status === 500).length, 3);
    await waitFor('the ejection log line', () => ejected().length === 1);
    assert.equal(ejected()[0]!.ejectedForMs, 1000);
    assert.equal(ejected()[0]!.peer, sick!.address);
    assert.match(String(ejected()[0]!.reason), /answered 500/);
    const out = await askMany(lb, 10);
    assert.deepEqual(new Set(out.map((answer) => answer.upstream)), new Set(['well']), 'an ejected peer gets nothing');

    const get = async (path: string) => fetch(`${adminUrl(lb)}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const status = await (await get('/status')).json() as { pools: { peers: { id: string; state: string; ejected: boolean }[] }[] };
    assert.deepEqual(status.pools[0]!.peers.map((peer) => [peer.state, peer.ejected]), [['ejected', true], ['up', false]]);
    const metrics = await (await get('/metrics')).text();
    assert.equal(sample(metrics, 'edgelb_peer_ejected', { pool: 'web', peer: sick!.address }), 1);
    assert.equal(sample(metrics, 'edgelb_peer_ejections_total', { pool: 'web', peer: sick!.address }), 1);

    // Back after 1 s, still answering 500: out again, for twice as long.
    await waitFor('the sick peer back in rotation', async () => (await ask(lb)).upstream === 'sick', { timeoutMs: 5_000 });
    await waitFor('the second ejection', async () => (await ask(lb), ejected().length === 2), { timeoutMs: 5_000 });
    assert.equal(ejected()[1]!.ejectedForMs, 2000);
    assert.ok(lb.logs.some((line) => line.msg === 'peer back from ejection' && line.peer === sick!.address));
  });

  it('retry_on: a 503 answer sends an idempotent request to the next peer; a POST gets the 503', async () => {
    const [busy, fine] = await Promise.all([startUpstream('busy'), startUpstream('fine')]);
    await busy!.behave(503);
    const lb = await startEdgelb({ upstreams: { web: { peers: [busy!.address, fine!.address], retry_on: ['connect_failure', 503] } } });
    const gets = await askMany(lb, 8);
    assert.deepEqual(gets.map((answer) => `${answer.status} ${answer.upstream}`), Array.from({ length: 8 }, () => '200 fine'));
    const posts = [];
    for (let i = 0; i < 2; i++) {
      const res = await request(`${lb.url}/`, { dispatcher: client, method: 'POST', body: 'x' });
      await res.body.text();
      posts.push(`${res.statusCode} ${String(res.headers['x-upstream'])}`);
    }
    assert.deepEqual(posts.sort(), ['200 fine', '503 busy'], 'not idempotent: the answer stands');
    assert.equal((await busy!.stats()).connections, 1, 'a dropped answer is read to its end, so its connection is reused');
  });

  it('caps retries by the retry budget: at most 20% of the attempts in flight (and at least 3)', async () => {
    const upstreams = await Promise.all(['s1', 's2'].map((name) => startUpstream(name)));
    for (const upstream of upstreams) await upstream.behave(503, 300);
    const lb = await startEdgelb({ access_log: false, upstreams: { web: { peers: upstreams.map((u) => u.address), retry_on: [503], max_connections_per_peer: 64 } } });
    const statuses = await Promise.all(Array.from({ length: 40 }, async () => (await ask(lb)).status));
    assert.deepEqual(new Set(statuses), new Set([503]));
    const retries = lb.logs.filter((line) => line.msg === 'peer failed; retrying the request on the next peer').length;
    assert.ok(retries >= 3 && retries <= 12, `40 requests failing at once: ${retries} retries (a budget of 20% of 40 in flight is 8)`);
  });

  it('with retry_on: [timeout], a frozen peer costs no failed GET, and is ejected after its timeouts', async () => {
    const [frozen, live] = await Promise.all([startUpstream('frozen'), startUpstream('live')]);
    const lb = await startEdgelb({
      upstreams: { web: { peers: [frozen!.address, live!.address], read_timeout: '500ms', retry_on: ['connect_failure', 'timeout'], outlier_detection: { consecutive_failures: 2 } } },
    });
    frozen!.process.kill('SIGSTOP');
    try {
      const answers = await askMany(lb, 12);
      assert.deepEqual(answers.map((answer) => `${answer.status} ${answer.upstream}`), Array.from({ length: 12 }, () => '200 live'));
      assert.ok(lb.logs.some((line) => line.msg === 'peer ejected' && line.peer === frozen!.address));
    } finally {
      frozen!.process.kill('SIGCONT');
    }
  });

  it('sticky: the cookie it sets keeps a client on its peer, and a client whose peer is gone gets another and a new cookie', async () => {
    const upstreams = await Promise.all(['s-a', 's-b', 's-c'].map((name) => startUpstream(name)));
    const lb = await startEdgelb({ upstreams: { web: { peers: upstreams.map((u) => u.address), sticky: { cookie: 'lb', ttl: '10m' }, health_check: { interval: '200ms' } } } });
    const visit = async (cookie?: string) => {
      const res = await request(`${lb.url}/`, { dispatcher: client, headers: cookie === undefined ? {} : { cookie: `theme=dark; ${cookie}` } });
      await res.body.text();
      const setCookie = res.headers['set-cookie'];
      return { upstream: res.headers['x-upstream'] as string, setCookie: Array.isArray(setCookie) ? setCookie[0] : setCookie };
    };
    const first = await visit();
    assert.match(first.setCookie ?? '', /^lb=[0-9a-z]+; Max-Age=600; Path=\/; HttpOnly; SameSite=Lax$/);
    assert.ok(!first.setCookie!.includes('127.0.0.1'), 'the cookie does not carry the peer\'s address');
    const cookie = first.setCookie!.split(';')[0]!;
    for (let i = 0; i < 8; i++) {
      const again = await visit(cookie);
      assert.equal(again.upstream, first.upstream, 'round robin would have moved it');
      assert.equal(again.setCookie, undefined, 'no new cookie while it holds');
    }
    await upstreams.find((u) => u.name === first.upstream)!.kill();
    const moved = await waitFor('the client to be sent elsewhere', async () => {
      const visitAfter = await visit(cookie);
      return visitAfter.upstream !== first.upstream && visitAfter;
    }, { timeoutMs: 5_000 });
    assert.match(moved.setCookie ?? '', /^lb=/);
    assert.notEqual(moved.setCookie!.split(';')[0], cookie, 'a new cookie names the new peer');
    const next = await visit(moved.setCookie!.split(';')[0]!);
    assert.equal(next.upstream, moved.upstream);
  });

  it('slow_start: a peer that comes back gets a small share at first, and its full share after the period', async () => {
    const [steady, returning] = await Promise.all([startUpstream('steady'), startUpstream('returning')]);
    const lb = await startEdgelb({ upstreams: { web: { peers: [steady!.address, returning!.address], slow_start: '4s', health_check: { interval: '100ms' } } } });
    await returning!.kill();
    await waitFor('the peer to be down', async () => (await askMany(lb, 4)).every((answer) => answer.upstream === 'steady'), { timeoutMs: 5_000 });
    const again = await startUpstream('returning', returning!.port);
    const backAt = performance.now();
    await waitFor('the peer back in rotation', async () => (await ask(lb)).upstream === 'returning', { timeoutMs: 5_000 });
    const early = await askMany(lb, 40);
    const earlyShare = early.filter((answer) => answer.upstream === 'returning').length / early.length;
    assert.ok(performance.now() - backAt < 2_500, 'the early sample was taken in the first half of the period');
    assert.ok(earlyShare < 0.35, `early share ${earlyShare} (full share would be 0.5)`);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 4_500 - (performance.now() - backAt))));
    const late = await askMany(lb, 40);
    assert.equal(late.filter((answer) => answer.upstream === 'returning').length, 20, 'its full share after the period');
    await again.kill();
  });

  it('ejects a frozen peer (kill -STOP: its TCP check passes) after its timeouts, and serves from the others', async () => {
    const [frozen, live] = await Promise.all([startUpstream('frozen'), startUpstream('live')]);
    const lb = await startEdgelb({
      upstreams: { web: { peers: [frozen!.address, live!.address], read_timeout: '500ms', outlier_detection: { consecutive_failures: 2 } } },
    });
    frozen!.process.kill('SIGSTOP');
    try {
      const first = await askMany(lb, 4);
      assert.deepEqual(first.map((answer) => answer.status).sort(), [200, 200, 504, 504]);
      await waitFor('the ejection', () => lb.logs.some((line) => line.msg === 'peer ejected' && /timeout/.test(String(line.reason))));
      const after = await askMany(lb, 10);
      assert.deepEqual(after.map((answer) => `${answer.status} ${answer.upstream}`), Array.from({ length: 10 }, () => '200 live'));
    } finally {
      frozen!.process.kill('SIGCONT');
    }
  });

  it('shares an ejection among the workers of one edgelb (threads: 2)', async () => {
    const [sick, well] = await Promise.all([startUpstream('sick'), startUpstream('well')]);
    await sick!.behave(500);
    const lb = await startEdgelb({
      threads: 2,
      upstreams: { web: { peers: [sick!.address, well!.address], outlier_detection: { consecutive_failures: 2, failure_statuses: [500], base_ejection_time: '30s' } } },
    });
    // A new connection each time, so that both workers take requests.
    const fresh = async () => {
      const res = await fetch(`${lb.url}/`, { headers: { connection: 'close' } });
      await res.text();
      return res.headers.get('x-upstream');
    };
    await waitFor('an ejection', async () => (await fresh(), lb.logs.some((line) => line.msg === 'peer ejected')), { timeoutMs: 10_000 });
    await waitFor('the other worker to take it out too', () => lb.logs.some((line) => line.msg === 'peer ejected by another worker'), { timeoutMs: 5_000 });
    const after = await Promise.all(Array.from({ length: 20 }, fresh));
    assert.deepEqual(new Set(after), new Set(['well']));
    assert.equal(lb.logs.filter((line) => line.msg === 'peer ejected').length, 1, 'one worker ejected it, the other followed');
  });

  it('never ejects more than max_ejected_percent of a pool', async () => {
    const upstreams = await Promise.all(['x', 'y'].map((name) => startUpstream(name)));
    for (const upstream of upstreams) await upstream.behave(503);
    const lb = await startEdgelb({ upstreams: { web: { peers: upstreams.map((u) => u.address), outlier_detection: { consecutive_failures: 2, max_ejected_percent: 50 } } } });
    await askMany(lb, 12);
    await waitFor('the refusal to eject the second', () => lb.logs.some((line) => line.msg.startsWith('peer failing but not ejected')));
    assert.equal(lb.logs.filter((line) => line.msg === 'peer ejected').length, 1);
  });

  it('sends to backup peers only while no other peer is up', async () => {
    const [primary, backup] = await Promise.all([startUpstream('primary'), startUpstream('backup')]);
    const lb = await startEdgelb({ upstreams: { web: { peers: [primary!.address, { addr: backup!.address, backup: true }], health_check: { interval: '200ms' } } } });
    assert.deepEqual(new Set((await askMany(lb, 6)).map((answer) => answer.upstream)), new Set(['primary']));
    await primary!.kill();
    await waitFor('the backup to take over', async () => (await ask(lb)).upstream === 'backup', { timeoutMs: 5_000 });
    assert.deepEqual(new Set((await askMany(lb, 4)).map((answer) => answer.upstream)), new Set(['backup']));
  });

  it('when_all_down: panic sends to the configured peers when none is up; the default answers 503', async () => {
    const failing = await startUpstream('failing');
    await failing.behave(500);
    const check = { type: 'http', path: '/health', interval: '200ms' };
    const [panicking, failingFast] = await Promise.all([
      startEdgelb({ upstreams: { web: { peers: [failing.address], health_check: check, when_all_down: 'panic' } } }),
      startEdgelb({ upstreams: { web: { peers: [failing.address], health_check: check } } }),
    ]);
    assert.deepEqual(await ask(panicking), { status: 500, upstream: 'failing' }, 'the peer\'s own answer, though its checks fail');
    assert.deepEqual(await ask(failingFast), { status: 503, upstream: undefined });
  });
});
