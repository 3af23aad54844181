import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { adminGet, adminUrl, sample } from './support/admin.ts';
import { TestCa } from './support/certs.ts';
import { echoHeader, type Echo } from './support/http.ts';
import { runLoad } from './support/keep-alive-load.ts';
import { freePort } from './support/ports.ts';
import { rawRequest } from './support/raw-request.ts';
import { killAll, runEdgelb, startEdgelb, startUpstream, type Edgelb, type Upstream } from './support/processes.ts';
import { h2Request, h2Session } from './support/tls.ts';
import { waitFor } from './support/wait-for.ts';

/** Who answered a request (the upstream's name, or the status), the path it saw and the Host it got. */
async function ask(lb: Edgelb, path: string, headers: Record<string, string> = {}, method = 'GET') {
  const reply = await rawRequest(`${lb.url}${path}`, { method, headers });
  if (reply.status !== 200) return { who: String(reply.status), url: '', host: '', reply };
  const echo = JSON.parse(reply.body) as Echo;
  return { who: echo.name, url: echo.url, host: echoHeader(echo, 'host')[0] ?? '', reply };
}

describe('routes', () => {
  let web: Upstream;
  let api: Upstream;
  let apiSpare: Upstream;
  let shop: Upstream;
  before(async () => {
    [web, api, apiSpare, shop] = await Promise.all(['web', 'api', 'api-spare', 'shop'].map((name) => startUpstream(name))) as [Upstream, Upstream, Upstream, Upstream];
  });
  after(killAll);

  const upstreams = () => ({
    web: { peers: [web.address] },
    api: { peers: [api.address] },
    shop: { peers: [shop.address], host: 'shop.internal' },
  });

  it('routes by exact and wildcard host, path prefix, methods and headers, in the documented order', async () => {
    const lb = await startEdgelb({
      routes: [
        { name: 'canary', match: { host: 'api.example.com', headers: { 'x-canary': '1' } }, pool: 'shop' },
        { name: 'api-v1', match: { host: 'api.example.com', path: '/v1' }, pool: 'api', strip_prefix: true },
        { name: 'api-writes', match: { host: 'api.example.com', methods: ['POST'] }, pool: 'shop' },
        { name: 'api', match: { host: 'api.example.com' }, pool: 'api' },
        { name: 'shops', match: { host: '*.shop.example.com' }, pool: 'shop', host: 'tenant.internal' },
        { name: 'static', match: { path: '/static/' }, pool: 'shop' },
        { name: 'site', match: { path: '/' }, pool: 'web' },
      ],
      upstreams: upstreams(),
    });
    const api1 = await ask(lb, '/v1/users?page=2', { host: 'API.Example.com:8080' });
    assert.deepEqual([api1.who, api1.url, api1.host], ['api', '/users?page=2', 'API.Example.com:8080'], 'strip_prefix, Host passed through');
    assert.equal((await ask(lb, '/v10', { host: 'api.example.com' })).url, '/v10', '/v1 does not take /v10');
    assert.equal((await ask(lb, '/v10', { host: 'api.example.com' })).who, 'api');
    assert.equal((await ask(lb, '/v1', { host: 'api.example.com' })).url, '/');
    assert.equal((await ask(lb, '/x', { host: 'api.example.com', 'x-canary': '1' })).who, 'shop', 'headers');
    assert.equal((await ask(lb, '/v1/x', { host: 'api.example.com', 'x-canary': '1' })).who, 'api', 'the longer path first');
    assert.equal((await ask(lb, '/x', { host: 'api.example.com' }, 'POST')).who, 'shop', 'methods');
    const tenant = await ask(lb, '/cart', { host: 'acme.shop.example.com' });
    assert.deepEqual([tenant.who, tenant.url, tenant.host], ['shop', '/cart', 'tenant.internal'], 'the route\'s host beats the pool\'s');
    assert.equal((await ask(lb, '/cart', { host: 'shop.example.com' })).who, 'web', '*.shop.example.com does not take shop.example.com');
    const staticFile = await ask(lb, '/static/app.js', { host: 'www.example.com' });
    assert.deepEqual([staticFile.who, staticFile.url, staticFile.host], ['shop', '/static/app.js', 'shop.internal'], 'the pool\'s host');
    assert.equal((await ask(lb, '/static', { host: 'www.example.com' })).who, 'web', '/static/ takes only what is under it');
    assert.equal((await ask(lb, '/static/x', { host: 'api.example.com' })).who, 'api', 'an exact host beats a path for any host');
    // Absolute-form targets route by their authority, not the Host header.
    const absolute = await rawRequest(`${lb.url}/`, { target: 'http://api.example.com/v1/abs', headers: { host: 'www.example.com' } });
    assert.equal((JSON.parse(absolute.body) as Echo).url, '/abs');
    await lb.kill();
  });

  it('answers 404 with a request id, in the log, when no route takes a request', async () => {
    const lb = await startEdgelb({ routes: [{ match: { host: 'api.example.com' }, pool: 'api' }], upstreams: upstreams() });
    const { reply } = await ask(lb, '/', { host: 'other.example.com' });
    assert.equal(reply.status, 404);
    const id = reply.headers['x-request-id'] as string;
    assert.ok(id);
    assert.match(reply.body, /^404 Not Found: no route takes this request\nrequest id: /);
    assert.ok(reply.body.includes(id));
    const line = await waitFor('the log line', () => lb.logs.find((l) => l.requestId === id && l.msg === 'request rejected'));
    assert.equal(line.status, 404);
    await lb.kill();
  });

  it('retries on the next peer of the routed pool', async () => {
    const dead = await startUpstream('dead');
    await dead.kill();
    const lb = await startEdgelb({
      routes: [{ match: { path: '/api' }, pool: 'api' }, { pool: 'web' }],
      upstreams: { web: { peers: [web.address] }, api: { peers: [dead.address, apiSpare.address], health_check: { interval: '60s', fall: 100 } } },
    });
    const answered = await Promise.all(Array.from({ length: 6 }, () => ask(lb, '/api/x')));
    assert.deepEqual(answered.map((a) => a.who), Array(6).fill('api-spare'), 'the dead peer is skipped within the api pool');
    await lb.kill();
  });

  it('routes HTTP/2 requests by :authority', async () => {
    const ca = new TestCa();
    const lb = await startEdgelb({
      listen: [{ addr: '127.0.0.1:0', tls: ca.issue(['example.com', 'api.example.com']), h2: true }],
      routes: [{ match: { host: 'api.example.com' }, pool: 'api' }, { pool: 'web' }],
      upstreams: upstreams(),
    });
    const session = await h2Session(lb.port, ca.cert, 'api.example.com');
    try {
      const toApi = await h2Request(session, { ':path': '/', ':authority': 'api.example.com' });
      const toWeb = await h2Request(session, { ':path': '/', ':authority': 'example.com' });
      assert.equal((JSON.parse(toApi.body.toString()) as Echo).name, 'api');
      assert.equal((JSON.parse(toWeb.body.toString()) as Echo).name, 'web');
    } finally {
      session.close();
    }
    await lb.kill();
  });

  it('shows the route in the access log, /status, edgelb status and the metrics', async () => {
    const lb = await startEdgelb({
      routes: [{ name: 'api', match: { path: '/api' }, pool: 'api' }, { name: 'site', match: { host: 'www.example.com' }, pool: 'web' }],
      upstreams: upstreams(),
      access_log: `${process.env.TMPDIR ?? '/tmp'}/edgelb-routes-${process.pid}.log`,
      admin: { listen: `127.0.0.1:${await freePort()}` },
    });
    await ask(lb, '/api/1');
    await ask(lb, '/api/2');
    await ask(lb, '/', { host: 'www.example.com' });
    await ask(lb, '/', { host: 'nowhere.example.com' });
    const admin = adminUrl(lb);
    const status = await (await adminGet(`${admin}/status`)).json() as { routes: Array<{ name: string; pool: string; requests: number }>; unrouted: number };
    assert.deepEqual(status.routes.map((r) => [r.name, r.pool, r.requests]), [['site', 'web', 1], ['api', 'api', 2]], 'in the order they are tried');
    assert.equal(status.unrouted, 1);
    const metrics = await (await adminGet(`${admin}/metrics`)).text();
    assert.equal(sample(metrics, 'edgelb_requests_total', { route: 'api', pool: 'api', peer: api.address, status_class: '2xx' }), 2);
    assert.equal(sample(metrics, 'edgelb_requests_total', { route: '', pool: '', peer: '', status_class: '4xx' }), 1);
    const table = await runEdgelb(['status', '-c', lb.configFile]);
    assert.match(table.stdout, /^routes\n {2}ROUTE +HOST +PATH +METHODS +POOL +REQUESTS\n {2}site +www\.example\.com +\/ +\* +web +1\n {2}api +\* +\/api +\* +api +2\n/);
    const lines = await waitFor('four access log lines', async () => {
      const { readFileSync } = await import('node:fs');
      const parsed = readFileSync(`${process.env.TMPDIR ?? '/tmp'}/edgelb-routes-${process.pid}.log`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { route?: string; status: number });
      return parsed.length >= 4 && parsed;
    });
    assert.deepEqual(lines.map((l) => [l.route, l.status]), [['api', 200], ['api', 200], ['site', 200], [undefined, 404]]);
    await lb.kill();
  });

  it('reloads routes on SIGHUP under load with no failed request', async () => {
    const config = { routes: [{ match: { path: '/' }, pool: 'web' }], upstreams: upstreams() };
    const lb = await startEdgelb(config);
    const load = runLoad(`${lb.url}/moving`, { clients: 8, durationMs: 20_000 });
    await waitFor('load to run', () => load.completed() > 100);
    writeFileSync(lb.configFile, stringify({ ...config, listen: [`127.0.0.1:${lb.port}`], routes: [{ match: { path: '/moving' }, pool: 'api' }, { pool: 'web' }] }));
    lb.process.kill('SIGHUP');
    await waitFor('the new routes to take the requests', async () => (await ask(lb, '/moving')).who === 'api', { timeoutMs: 15_000 });
    const seenApi = load.completed();
    await waitFor('more requests under the new routes', () => load.completed() > seenApi + 200);
    load.stop();
    const result = await load.done;
    assert.deepEqual(result.failures, {}, 'no request failed during the reload');
    assert.ok((result.upstreams.web ?? 0) > 0 && (result.upstreams.api ?? 0) > 0, `both routes served: ${JSON.stringify(result.upstreams)}`);
    await lb.kill();
  });

  it('edgelb -t names a route\'s unknown pool and warns of a route that never matches', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(`${tmpdir()}/edgelb-routes-`);
    const bad = `${dir}/bad.yaml`;
    writeFileSync(bad, stringify({ routes: [{ pool: 'web' }, { match: { path: '/v1' }, pool: 'apii' }], upstreams: upstreams() }));
    const refused = await runEdgelb(['-t', '-c', bad]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^ {2}routes\.1\.pool: no pool "apii"$/m);
    const shadowed = `${dir}/shadowed.yaml`;
    writeFileSync(shadowed, stringify({ routes: [{ match: { path: '/a' }, pool: 'web' }, { match: { path: '/a', methods: ['GET'] }, pool: 'api' }], upstreams: upstreams() }));
    const warned = await runEdgelb(['-t', '-c', shadowed]);
    assert.equal(warned.code, 0);
    assert.match(warned.stderr, /warning: routes\.1: never matches: routes\.0 \(\/a\) takes every request it would/);
  });
});
