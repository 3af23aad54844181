import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { load } from './support/load.ts';
import { killAll, startEdgelb, startUpstream, type Edgelb, type Upstream } from './support/processes.ts';
import { waitFor } from './support/wait-for.ts';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long the primary's health verdict may take to reach a worker busy with traffic. */
const RELAY_MARGIN_MS = 50;

describe('health checks and failover', () => {
  let upstreams: Upstream[] = [];
  let edgelb: Edgelb | undefined;
  afterEach(killAll);
  after(killAll);

  const start = async (pool: Record<string, unknown>) => {
    upstreams = await Promise.all(['a', 'b', 'c'].map((name) => startUpstream(name)));
    edgelb = await startEdgelb({ upstreams: { web: { peers: upstreams.map((u) => u.address), ...pool } } });
    return edgelb;
  };

  it('takes a dead peer out of rotation within one interval + timeout', async () => {
    // Without retries every request routed to the dead peer fails, which makes the window visible.
    const interval = 500;
    const timeout = 300;
    const lb = await start({ retries: 0, health_check: { interval: `${interval}ms`, timeout: `${timeout}ms` } });
    const victim = upstreams[1]!;
    await victim.kill('SIGKILL');
    const killedAt = performance.now();
    const killedAtEpoch = Date.now();
    const failuresAt: number[] = [];
    while (performance.now() - killedAt < interval + timeout + 1000) {
      const res = await fetch(lb.url).catch(() => undefined);
      if (res?.status !== 200) failuresAt.push(performance.now() - killedAt);
      await res?.text();
    }
    const down = lb.logs.find((line) => line.msg === 'peer down' && line.peer === victim.address);
    assert.ok(down, 'the prober logs the peer going down');
    const detectedAfter = down.time - killedAtEpoch;
    assert.ok(detectedAfter <= interval + timeout + 100, `marked down ${detectedAfter} ms after the kill`);
    const lastFailure = failuresAt.at(-1) ?? 0;
    assert.ok(lastFailure <= interval + timeout + 150, `requests failed until ${lastFailure.toFixed(0)}ms after the kill`);
  });

  it('costs clients no errors when a peer dies under load, and takes it back when it returns', async () => {
    const lb = await start({ health_check: { interval: '500ms', timeout: '300ms' } });
    const victim = upstreams[0]!;
    let finish!: () => void;
    const stop = new Promise<void>((resolve) => (finish = resolve));
    const running = load(lb.url, 16, stop);

    await delay(700);
    await victim.kill('SIGKILL');
    const killedAt = performance.now();
    await waitFor('the prober to mark the peer down', () => lb.logs.some((l) => l.msg === 'peer down' && l.peer === victim.address));
    await delay(500);
    const revived = await startUpstream(victim.name, victim.port);
    const revivedAt = performance.now();
    await waitFor('the prober to mark the peer up', () => lb.logs.some((l) => l.msg === 'peer up' && l.peer === victim.address));
    await delay(500);
    finish();
    const result = await running;
    await revived.kill();

    assert.deepEqual(result.failures, [], 'no client saw an error');
    assert.ok(result.ok > 100, `load ran (${result.ok} requests)`);
    const fromVictim = (from: number, to: number) =>
      result.answers.filter((a) => a.name === victim.name && a.at > from && a.at < to).length;
    assert.ok(fromVictim(revivedAt, Infinity) > 0, 'the revived peer is back in rotation');
    assert.ok(fromVictim(0, killedAt) > 0, 'the peer served before it died');
    // Between "peer down" and "peer up" the balancer must not even try the dead peer, once the
    // primary's verdict has reached the worker (over IPC; a loaded worker may take a few
    // milliseconds to read it, as it does between two batches of requests).
    const downAt = lb.logs.find((l) => l.msg === 'peer down' && l.peer === victim.address)!.time + RELAY_MARGIN_MS;
    const upAt = lb.logs.find((l) => l.msg === 'peer up' && l.peer === victim.address)!.time;
    const tried = lb.logs.filter((l) => l.msg === 'upstream peer' && l.peer === victim.address && l.time > downAt && l.time < upAt);
    assert.equal(tried.length, 0, 'the dead peer was out of rotation');
    assert.ok(lb.logs.some((l) => l.msg === 'upstream peer' && l.time > downAt && l.time < upAt), 'traffic went on meanwhile');
  });

  it('checks every peer before serving, so a peer down at start never gets traffic', async () => {
    const live = await startUpstream('live');
    const dead = await startUpstream('dead');
    await dead.kill();
    const lb = await startEdgelb({ upstreams: { web: { peers: [dead.address, live.address], retries: 0 } } });
    for (let i = 0; i < 6; i++) {
      const res = await fetch(lb.url);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-upstream'), 'live');
      await res.text();
    }
  });

  it('can check over HTTP, catching a peer that accepts connections but does not answer', async () => {
    const lb = await start({ retries: 0, read_timeout: '5s', health_check: { type: 'http', path: '/', interval: '300ms', timeout: '200ms' } });
    const hung = upstreams[2]!;
    hung.process.kill('SIGSTOP');
    try {
      await waitFor('the prober to mark the hung peer down', () => lb.logs.some((l) => l.msg === 'peer down' && l.peer === hung.address));
      for (let i = 0; i < 6; i++) {
        const res = await fetch(lb.url);
        assert.equal(res.status, 200);
        assert.notEqual(res.headers.get('x-upstream'), hung.name);
        await res.text();
      }
    } finally {
      hung.process.kill('SIGCONT');
    }
  });

  it('tries at most 1 + retries peers for one request', async () => {
    const [live, ...dead] = await Promise.all(['live', 'd1', 'd2', 'd3'].map((name) => startUpstream(name)));
    // The dead peers stay in rotation (long interval, high fall), as in the moments before a check.
    const lb = await startEdgelb({
      upstreams: { web: { peers: [...dead, live!].map((u) => u.address), retries: 1, health_check: { interval: '60s', fall: 100 } } },
    });
    await Promise.all(dead.map((u) => u.kill()));
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await fetch(lb.url);
      await res.text();
      statuses.push(res.status);
    }
    // Round robin starts each request one peer further: d1→d2 and d2→d3 run out of tries,
    // d3→live and live succeed.
    assert.deepEqual([...statuses].sort(), [200, 200, 200, 200, 502, 502, 502, 502]);
  });
});
