import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { adminUrl } from './support/admin.ts';
import { rawExchange } from './support/http.ts';
import { freePort } from './support/ports.ts';
import { killAll, runEdgelb, startEdgelb, startUpstream, type Edgelb } from './support/processes.ts';
import { rawRequest } from './support/raw-request.ts';

const TOKEN = 'origin-token-0123456789abcdef';

interface Status {
  pools: Array<{ name: string; peers: Array<{ id: string; state: string; drained: boolean }> }>;
}

/** The admin listener's address as edgelb reports it: where to connect, and its own Host. */
function admin(lb: Edgelb): { base: string; host: string; port: number } {
  const base = adminUrl(lb);
  const url = new URL(base);
  return { base, host: url.host, port: Number(url.port) };
}

async function drainedState(lb: Edgelb, peer: string): Promise<boolean> {
  const { base, host } = admin(lb);
  const reply = await rawRequest(`${base}/status`, { headers: { host } });
  assert.equal(reply.status, 200, reply.body);
  const status = JSON.parse(reply.body) as Status;
  return status.pools[0]!.peers.find((p) => p.id === peer)!.drained;
}

/** Which upstream the balancer sent a request to. */
async function servedBy(lb: Edgelb): Promise<string | null> {
  const res = await fetch(lb.url);
  await res.text();
  assert.equal(res.status, 200);
  return res.headers.get('x-upstream');
}

describe('admin listener without a token, and other sites in the browser', () => {
  afterEach(killAll);
  after(killAll);

  it('refuses a drain that another site makes the browser send, and the peer keeps serving', async () => {
    const a = await startUpstream('a');
    const lb = await startEdgelb({ access_log: false, admin: { listen: '127.0.0.1:0' }, upstreams: { web: { peers: [a.address] } } });
    const { base, host, port } = admin(lb);
    const drain = `${base}/pools/web/peers/${a.address}/drain`;
    const forged: Array<[string, Record<string, string>, RegExp]> = [
      ['a no-cors fetch from evil.example', { host, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', 'content-type': 'text/plain' }, /Sec-Fetch-Site/],
      ['the same from a browser without Sec-Fetch-*', { host, origin: 'http://evil.example', 'content-type': 'text/plain' }, /Origin http:\/\/evil\.example/],
      ['a form post from a browser that sends no Origin', { host, 'content-type': 'application/x-www-form-urlencoded' }, /Content-Type/],
      ['a form post from a sandboxed frame', { host, origin: 'null', 'content-type': 'multipart/form-data; boundary=x' }, /Origin null/],
      ['a request from a sibling site, marked only by Sec-Fetch-Site', { host, 'sec-fetch-site': 'same-site' }, /same-site/],
      // DNS rebinding: evil.example now resolves to 127.0.0.1, so the browser sees its own origin.
      ['a rebound page', { host: `evil.example:${port}`, origin: `http://evil.example:${port}`, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' }, /Host/],
    ];
    for (const [what, headers, reason] of forged) {
      const reply = await rawRequest(drain, { method: 'POST', headers, body: 'x' });
      assert.equal(reply.status, 403, `${what}: ${reply.body}`);
      assert.match((JSON.parse(reply.body) as { error: string }).error, reason, what);
    }
    assert.equal(await drainedState(lb, a.address), false, 'the peer is not drained');
    assert.equal(await servedBy(lb), 'a', 'and still gets the traffic');
    assert.ok(!lb.logs.some((line) => line.msg === 'peer drained'));
  });

  it('answers only to its own names: a rebound page reads neither /status, /metrics nor the dashboard', async () => {
    const a = await startUpstream('a');
    const lb = await startEdgelb({ access_log: false, admin: { listen: '127.0.0.1:0' }, upstreams: { web: { peers: [a.address] } } });
    const { base, port } = admin(lb);
    const otherPort = port === 65535 ? port - 1 : port + 1;
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`, `127.0.0.1:${otherPort}`, `localhost:${otherPort}`]) {
      for (const path of ['/status', '/metrics', '/', '/no-such-page']) {
        const reply = await rawRequest(base + path, { headers: { host } });
        assert.equal(reply.status, 403, `Host ${host} ${path}`);
        assert.ok(!reply.body.includes(a.address), `Host ${host} ${path} shows no peer`);
      }
    }
    const noHost = await rawExchange(port, 'GET /status HTTP/1.0\r\n\r\n');
    assert.match(noHost, /^HTTP\/1\.1 40[03] /, 'a request without Host is refused too');
    assert.ok(!noHost.includes(a.address));

    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LocalHost:${port}`]) {
      const reply = await rawRequest(`${base}/status`, { headers: { host } });
      assert.equal(reply.status, 200, `Host ${host}`);
      assert.match(reply.body, new RegExp(a.address.replaceAll('.', '\\.')));
    }
  });

  it('on [::1] answers to [::1] and localhost with its port', async () => {
    const a = await startUpstream('a');
    const lb = await startEdgelb({ access_log: false, admin: { listen: '[::1]:0' }, upstreams: { web: { peers: [a.address] } } });
    const { base, host, port } = admin(lb);
    assert.equal(host, `[::1]:${port}`);
    assert.equal((await rawRequest(`${base}/status`, { headers: { host } })).status, 200);
    assert.equal((await rawRequest(`${base}/status`, { headers: { host: `localhost:${port}` } })).status, 200);
    assert.equal((await rawRequest(`${base}/status`, { headers: { host: `evil.example:${port}` } })).status, 403);
  });

  it('listens on localhost (as 127.0.0.1) when admin.listen names it', async () => {
    const a = await startUpstream('a');
    const port = await freePort();
    const lb = await startEdgelb({ access_log: false, admin: { listen: `localhost:${port}` }, upstreams: { web: { peers: [a.address] } } });
    assert.equal(admin(lb).host, `127.0.0.1:${port}`);
    assert.equal((await rawRequest(`http://127.0.0.1:${port}/status`, { headers: { host: `localhost:${port}` } })).status, 200);
  });

  it("serves its own origin: the dashboard's requests, edgelb drain and clients that are not browsers", async () => {
    const [a, b] = await Promise.all([startUpstream('a'), startUpstream('b')]);
    const port = await freePort();
    const lb = await startEdgelb({ access_log: false, admin: { listen: `127.0.0.1:${port}` }, upstreams: { web: { peers: [a.address, b.address] } } });
    const { base } = admin(lb);

    const page = await rawRequest(`${base}/`, { headers: { host: `localhost:${port}` } });
    assert.equal(page.status, 200);
    assert.match(page.body, /<title>edgelb<\/title>/);
    assert.match(String(page.headers['content-security-policy']), /frame-ancestors 'none'/, 'no page can frame the drain buttons');
    assert.equal(page.headers['x-frame-options'], 'DENY');

    // What the dashboard's fetch sends, opened as http://localhost:PORT/ and as http://127.0.0.1:PORT/.
    const drained = await rawRequest(`${base}/pools/web/peers/${a.address}/drain`, {
      method: 'POST',
      headers: { host: `localhost:${port}`, origin: `http://localhost:${port}`, 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(drained.status, 200, drained.body);
    assert.equal(await drainedState(lb, a.address), true);
    const undrained = await rawRequest(`${base}/pools/web/peers/${a.address}/undrain`, {
      method: 'POST',
      headers: { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(undrained.status, 200, undrained.body);
    assert.equal(await drainedState(lb, a.address), false);

    const command = await runEdgelb(['drain', 'web', b.address, '-c', lb.configFile]);
    assert.equal(command.code, 0, command.stderr);
    assert.equal(await drainedState(lb, b.address), true);
    assert.equal(await servedBy(lb), 'a');
    assert.equal((await runEdgelb(['undrain', 'web', b.address, '-c', lb.configFile])).code, 0);
    assert.equal(await drainedState(lb, b.address), false);

    // curl -X POST: no Origin, no Sec-Fetch-*, no body.
    const curl = await rawRequest(`${base}/pools/web/peers/${b.address}/drain`, { method: 'POST', headers: { host: `127.0.0.1:${port}` } });
    assert.equal(curl.status, 200, curl.body);
  });

  it('with a token, the token is what counts: required from every site, enough under any name', async () => {
    const a = await startUpstream('a');
    const lb = await startEdgelb({ access_log: false, admin: { listen: '127.0.0.1:0', token: TOKEN }, upstreams: { web: { peers: [a.address] } } });
    const { base, host, port } = admin(lb);
    const drain = `${base}/pools/web/peers/${a.address}/drain`;
    const crossSite = { host, origin: 'http://evil.example', 'content-type': 'text/plain' };
    assert.equal((await rawRequest(drain, { method: 'POST', headers: crossSite, body: 'x' })).status, 401);
    assert.equal((await rawRequest(drain, { method: 'POST', headers: { host } })).status, 401);
    assert.equal(await servedBy(lb), 'a', 'a refused drain changes nothing');

    // A listener with a token may sit behind any name (0.0.0.0, a proxy): the Host is not checked.
    const named = await rawRequest(`${base}/status`, { headers: { host: `admin.example:${port}`, authorization: `Bearer ${TOKEN}` } });
    assert.equal(named.status, 200);
    const page = await rawRequest(`${base}/`, { headers: { host: `admin.example:${port}` } });
    assert.equal(page.status, 200);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    const tokened = await rawRequest(drain, { method: 'POST', headers: { ...crossSite, authorization: `Bearer ${TOKEN}` }, body: 'x' });
    assert.equal(tokened.status, 200, 'a bearer token is never sent by a browser on its own, so it proves the caller');
  });
});
