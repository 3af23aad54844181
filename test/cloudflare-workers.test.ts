import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { after, afterEach, describe, it } from 'node:test';
import { killAll, startEdgelbCommand, startUpstream, startWsUpstream } from './support/processes.ts';
import { freePort } from './support/ports.ts';
import { rawRequest } from './support/raw-request.ts';
import { startRedis, type RedisServer } from './support/redis.ts';
import { fleetConfig, startProber, startUpstreams, waitForLog } from './support/shared-health.ts';
import { buildWorkersBundle, startWorkerd, type RunningWorkerd } from './support/workerd.ts';
import { waitFor } from './support/wait-for.ts';

/** Sends `count` GETs and returns who answered (or the status when it was not 200). */
async function answers(url: string, count = 6): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(url);
    await res.text();
    seen.push(res.status === 200 ? res.headers.get('x-upstream')! : String(res.status));
  }
  return seen.sort();
}

/** Keeps asking until `count` answers in a row equal `expected`. */
function answersBecome(url: string, expected: string[]): Promise<string[]> {
  return waitFor(`answers ${expected.join(',')}`, async () => {
    const seen = await answers(url, expected.length);
    return seen.join() === expected.join() && seen;
  }, { timeoutMs: 15_000 });
}

describe('the Cloudflare Worker on workerd', () => {
  let redis: RedisServer | undefined;
  let workerd: RunningWorkerd | undefined;
  afterEach(async () => {
    await workerd?.stop();
    workerd = undefined;
    killAll();
    await redis?.kill();
    redis = undefined;
  });
  after(killAll);

  it('builds with wrangler deploy --dry-run', async () => {
    const { script, output } = await buildWorkersBundle();
    assert.match(output, /--dry-run: exiting now/);
    assert.ok(script.endsWith('entry.js'));
  });

  it('balances over the healthy set the prober writes; a peer marked down leaves the rotation; Redis down keeps the last set', async () => {
    redis = await startRedis();
    const upstreams = await startUpstreams('a', 'b', 'c');
    const config = fleetConfig(redis.url, upstreams);
    // No retries: a dead peer still in rotation would show as a 502.
    (config.upstreams.web as Record<string, unknown>).retries = 0;
    const prober = await startProber('p1', config);
    workerd = await startWorkerd({ EDGELB_CONFIG: JSON.stringify(config) });
    assert.deepEqual(await answers(workerd.url), ['a', 'a', 'b', 'b', 'c', 'c']);

    const b = upstreams[1]!;
    await b.kill();
    await waitForLog(prober, 'peer down', { peer: b.address });
    await answersBecome(workerd.url, ['a', 'a', 'a', 'c', 'c', 'c']);
    await waitForLog(workerd, 'peer down', { peer: b.address });

    await redis.kill();
    const outage = await waitFor('the Cloudflare Worker to notice Redis is gone', async () => {
      await answers(workerd!.url, 2);
      return workerd!.logs.find((line) => line.msg === 'redis unreachable; serving the last known healthy set');
    });
    assert.equal(outage.known, true);
    // The last known set: b stays out, a and c keep serving.
    assert.deepEqual(await answers(workerd.url), ['a', 'a', 'a', 'c', 'c', 'c']);
  });

  it('never makes a request wait on Redis once the set is known: a hung Redis costs no latency', async () => {
    redis = await startRedis();
    const upstreams = await startUpstreams('a', 'b');
    const config = fleetConfig(redis.url, upstreams);
    await startProber('p1', config);
    workerd = await startWorkerd({ EDGELB_CONFIG: JSON.stringify(config), EDGELB_HEALTH_TTL: '100ms' });
    assert.deepEqual(await answers(workerd.url, 2), ['a', 'b']);

    // Redis is replaced by a server that accepts connections and never answers.
    await redis.kill();
    const hung = createServer(() => {});
    await new Promise<void>((resolve) => hung.listen(redis!.port, '127.0.0.1', resolve));
    try {
      const since = Date.now();
      let slowest = 0;
      while (Date.now() - since < 3_000) {
        const started = performance.now();
        assert.equal((await fetch(workerd.url)).status, 200);
        slowest = Math.max(slowest, performance.now() - started);
      }
      await waitForLog(workerd, 'redis unreachable; serving the last known healthy set', {}, since);
      // A read in the request path would wait for the 2 s read timeout.
      assert.ok(slowest < 1_000, `slowest request took ${Math.round(slowest)} ms`);
    } finally {
      hung.close();
    }
  });

  it('after an idle spell, the first request waits for a fresh read instead of routing to peers marked down meanwhile', async () => {
    redis = await startRedis();
    const upstreams = await startUpstreams('a', 'b');
    const config = fleetConfig(redis.url, upstreams);
    const prober = await startProber('p1', config);
    workerd = await startWorkerd({ EDGELB_CONFIG: JSON.stringify(config), EDGELB_HEALTH_TTL: '200ms' });
    assert.deepEqual(await answers(workerd.url, 2), ['a', 'b']);
    const idleSince = Date.now();
    for (const upstream of upstreams) await upstream.kill();
    for (const upstream of upstreams) await waitForLog(prober, 'peer down', { peer: upstream.address });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, idleSince + 800 - Date.now())));
    // On the old copy both peers are up, and the request would end in a 502 (connection refused).
    const res = await fetch(workerd.url);
    assert.equal(res.status, 503, await res.text());
  });

  it('takes registered peers from Redis once a prober has seen them up', async () => {
    redis = await startRedis();
    const [a, b] = await startUpstreams('a', 'b');
    const config = fleetConfig(redis.url, [a!]);
    (config.upstreams.web as Record<string, unknown>).discovery = 'redis';
    await startProber('p1', config);
    workerd = await startWorkerd({ EDGELB_CONFIG: JSON.stringify(config), EDGELB_HEALTH_TTL: '200ms' });
    assert.deepEqual(await answers(workerd.url, 2), ['a', 'a']);
    const sidecar = await startEdgelbCommand(['register', '--pool', 'web', '--addr', b!.address], config, 'registered');
    await answersBecome(workerd.url, ['a', 'a', 'b', 'b']);
    await sidecar.kill('SIGTERM');
    await answersBecome(workerd.url, ['a', 'a', 'a', 'a']);
  });

  it('answers 503 with Retry-After once the prober finds every peer down', async () => {
    redis = await startRedis();
    const upstreams = await startUpstreams('a', 'b');
    const config = fleetConfig(redis.url, upstreams);
    const prober = await startProber('p1', config);
    workerd = await startWorkerd({ EDGELB_CONFIG: JSON.stringify(config) });
    assert.deepEqual(await answers(workerd.url, 2), ['a', 'b']);
    for (const upstream of upstreams) await upstream.kill();
    for (const upstream of upstreams) await waitForLog(prober, 'peer down', { peer: upstream.address });
    await answersBecome(workerd.url, ['503', '503']);
    const res = await fetch(workerd.url, { headers: { 'x-request-id': 'empty-set-1' } });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(res.headers.get('x-request-id'), 'empty-set-1');
    assert.equal(await res.text(), '503 Service Unavailable: no healthy peer in pool "web"\nrequest id: empty-set-1\n');
  });

  it('answers 503 while nothing is known (Redis never reached), and serves once Redis and the prober are there', async () => {
    const port = await freePort();
    const upstream = await startUpstream('a');
    const config = fleetConfig(`redis://127.0.0.1:${port}/0`, [upstream]);
    workerd = await startWorkerd({ EDGELB_CONFIG: JSON.stringify(config) });
    const res = await fetch(workerd.url);
    assert.equal(res.status, 503);
    assert.match(await res.text(), /no healthy peer/);
    await waitForLog(workerd, 'redis unreachable; no healthy set known yet');

    redis = await startRedis({ port });
    await startProber('p1', config);
    await answersBecome(workerd.url, ['a', 'a']);
  });

  it('keeps the header rules and skips a dead peer on a connection failure (no Redis)', async () => {
    const live = await startUpstream('live');
    const dead = `127.0.0.1:${await freePort()}`;
    workerd = await startWorkerd({ EDGELB_CONFIG: `upstreams:\n  web:\n    peers: [${dead}, ${live.address}]\n` });
    assert.deepEqual(await answers(workerd.url, 4), ['live', 'live', 'live', 'live']);

    const { status, headers, body } = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const req = request(`${workerd!.url}/echo`, {
        headers: { host: 'shop.example', connection: 'keep-alive, x-hop', 'x-hop': 'secret', 'x-forwarded-for': '203.0.113.9', via: '1.0 cdn' },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk) => (text += chunk)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      });
      req.on('error', reject).end();
    });
    assert.equal(status, 200);
    assert.equal(headers.via, '1.1 edgelb');
    const raw = (JSON.parse(body) as { rawHeaders: string[] }).rawHeaders;
    const sent = new Map<string, string>();
    for (let i = 0; i < raw.length; i += 2) sent.set(raw[i]!.toLowerCase(), raw[i + 1]!);
    assert.equal(sent.get('x-hop'), undefined, 'a header named by Connection is hop-by-hop');
    assert.equal(sent.get('x-forwarded-host'), 'shop.example');
    assert.equal(sent.get('x-forwarded-proto'), 'http');
    assert.match(sent.get('x-forwarded-for') ?? '', /^203\.0\.113\.9, /);
    assert.equal(sent.get('via'), '1.0 cdn, 1.1 edgelb');
  });

  it('passes a WebSocket upgrade through to the peer and hands its socket to the client', async () => {
    const ws = await startWsUpstream('ws-workers');
    workerd = await startWorkerd({ EDGELB_CONFIG: `upstreams:\n  web:\n    peers: [${ws.address}]\n` });
    const socket = new WebSocket(`${workerd.url.replace('http', 'ws')}/chat`);
    const received: string[] = [];
    socket.addEventListener('message', (event) => received.push(String(event.data)));
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve());
      socket.addEventListener('error', () => reject(new Error('the WebSocket through workerd failed')));
    });
    socket.send('who');
    socket.send('hello through workerd');
    await waitFor('both echoes', () => received.length >= 2, { timeoutMs: 10_000 });
    assert.deepEqual(received, ['ws-workers', 'hello through workerd']);
    socket.close();
    await waitFor('the peer to see the tunnel close', async () => (await ws.stats()).open === 0, { timeoutMs: 10_000 });
  });

  it('routes by host, path and headers as on Node, with strip_prefix and a 404 for no route', async () => {
    const [web, api] = await Promise.all([startUpstream('web'), startUpstream('api')]);
    const config = {
      routes: [
        { name: 'api', match: { host: 'api.example.com', path: '/v1' }, pool: 'api', strip_prefix: true, host: 'api.internal' },
        { name: 'canary', match: { host: '*.example.com', headers: { 'x-canary': '1' } }, pool: 'api' },
        { name: 'site', match: { host: '*.example.com' }, pool: 'web' },
      ],
      upstreams: { web: { peers: [web.address] }, api: { peers: [api.address] } },
    };
    workerd = await startWorkerd({ EDGELB_CONFIG: JSON.stringify(config) });
    const ask = async (path: string, headers: Record<string, string>) => {
      const reply = await rawRequest(`${workerd!.url}${path}`, { headers });
      if (reply.status !== 200) return { status: reply.status, body: reply.body };
      const echo = JSON.parse(reply.body) as { name: string; url: string; rawHeaders: string[] };
      const host = echo.rawHeaders[echo.rawHeaders.findIndex((name, i) => i % 2 === 0 && name.toLowerCase() === 'host') + 1];
      return { status: 200, name: echo.name, url: echo.url, host };
    };
    // fetch() sets Host from the peer's URL whatever the route or pool says (README, "On Cloudflare Workers").
    assert.deepEqual(await ask('/v1/users?x=1', { host: 'api.example.com' }), { status: 200, name: 'api', url: '/users?x=1', host: api.address });
    assert.deepEqual(await ask('/v10', { host: 'api.example.com' }), { status: 200, name: 'web', url: '/v10', host: `${web.address}` });
    assert.equal((await ask('/', { host: 'www.example.com', 'x-canary': '1' })).name, 'api');
    const none = await ask('/', { host: 'example.org' });
    assert.equal(none.status, 404);
    assert.match(none.body ?? '', /no route takes this request/);
  });

  it('answers 500 naming the bad key when EDGELB_CONFIG is invalid', async () => {
    workerd = await startWorkerd({ EDGELB_CONFIG: 'upstreams:\n  web:\n    peers: [nonsense]\n' });
    const res = await fetch(workerd.url);
    assert.equal(res.status, 500);
    assert.match(await res.text(), /upstreams\.web\.peers\.0: "nonsense" is not host:port/);
    await workerd.stop();

    // Valid for Node, but nothing a fetch() can do: refused, not ignored.
    workerd = await startWorkerd({ EDGELB_CONFIG: 'upstreams:\n  web:\n    peers: [127.0.0.1:1]\n    tls: true\n    tls_verify: false\n' });
    const refused = await fetch(workerd.url);
    assert.equal(refused.status, 500);
    assert.match(await refused.text(), /upstreams\.web\.tls_verify: not available on Workers/);
  });
});
