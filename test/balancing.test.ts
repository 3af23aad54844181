import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { killAll, startEdgelb, startUpstream, type Edgelb, type Upstream } from './support/processes.ts';
import { client, echoHeader, get, rawExchange, type Echo } from './support/http.ts';
import { waitFor } from './support/wait-for.ts';

describe('balancing and header rules', () => {
  let upstreams: Upstream[];
  let plain: Edgelb;
  let rewriting: Edgelb;

  before(async () => {
    upstreams = await Promise.all(['a', 'b', 'c'].map((name) => startUpstream(name)));
    const peers = upstreams.map((u) => u.address);
    [plain, rewriting] = await Promise.all([
      startEdgelb({ upstreams: { web: { peers } } }),
      startEdgelb({ upstreams: { web: { peers, host: 'example.com' } } }),
    ]);
  });
  after(killAll);

  it('sends requests round robin, each peer in turn', async () => {
    const names: string[] = [];
    for (let i = 0; i < 12; i++) names.push(((JSON.parse((await get(plain.url)).body)) as Echo).name);
    const cycle = names.slice(0, 3);
    assert.deepEqual([...cycle].sort(), ['a', 'b', 'c']);
    assert.deepEqual(names, [...cycle, ...cycle, ...cycle, ...cycle]);
  });

  it('logs the chosen peer of each request at debug level', async () => {
    const ids = ['peer-log-1', 'peer-log-2'];
    const answered: Echo[] = [];
    for (const id of ids) answered.push(JSON.parse((await get(plain.url, { 'x-request-id': id })).body) as Echo);
    // Log lines arrive through a pipe, a moment after the responses.
    const lines = await waitFor('the log lines of both requests', () => {
      const found = ids.map((id) => plain.logs.find((l) => l.msg === 'upstream peer' && l.requestId === id));
      return found.every(Boolean) && found;
    });
    assert.deepEqual(lines.map((l) => l!.peer), answered.map((echo) => upstreams.find((u) => u.name === echo.name)!.address));
  });

  it('rewrites Host to the pool host, and keeps the original in X-Forwarded-Host', async () => {
    const echo = JSON.parse((await get(rewriting.url, { host: 'shop.test' })).body) as Echo;
    assert.deepEqual(echoHeader(echo, 'host'), ['example.com']);
    assert.deepEqual(echoHeader(echo, 'x-forwarded-host'), ['shop.test']);
  });

  it('passes the client Host through when the pool sets none', async () => {
    const echo = JSON.parse((await get(plain.url, { host: 'shop.test' })).body) as Echo;
    assert.deepEqual(echoHeader(echo, 'host'), ['shop.test']);
  });

  it('strips hop-by-hop request headers and sets X-Forwarded-*, Via', async () => {
    // A raw request, because HTTP clients refuse to send a Connection header naming others.
    const reply = await rawExchange(plain.port, [
      'GET /path?q=1 HTTP/1.1', 'Host: shop.test', 'Connection: keep-alive, X-Private', 'X-Private: do not forward',
      'Keep-Alive: timeout=5', 'Proxy-Authorization: Basic eDp5', 'TE: trailers', 'X-Forwarded-For: 198.51.100.1',
      'Via: 1.0 cdn', 'Accept-Encoding: gzip, br', 'X-End-To-End: kept', 'Connection: close', '', '',
    ].join('\r\n'));
    const echo = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as Echo;
    assert.equal(echo.url, '/path?q=1');
    // edgelb's own hop to the peer may say keep-alive; nothing the client listed may pass.
    assert.ok(echoHeader(echo, 'connection').every((value) => value === 'keep-alive'));
    for (const name of ['x-private', 'proxy-authorization', 'te', 'keep-alive', 'transfer-encoding']) {
      assert.deepEqual(echoHeader(echo, name), [], `${name} must not reach the upstream`);
    }
    assert.deepEqual(echoHeader(echo, 'x-forwarded-for'), ['198.51.100.1, 127.0.0.1']);
    assert.deepEqual(echoHeader(echo, 'x-forwarded-proto'), ['http']);
    assert.deepEqual(echoHeader(echo, 'via'), ['1.0 cdn, 1.1 edgelb']);
    assert.deepEqual(echoHeader(echo, 'accept-encoding'), ['gzip, br']);
    assert.deepEqual(echoHeader(echo, 'x-end-to-end'), ['kept']);
  });

  it('strips hop-by-hop response headers and adds Via', async () => {
    const reply = await get(`${plain.url}/hop-by-hop`);
    assert.equal(reply.headers['x-upstream-private'], undefined);
    assert.equal(reply.headers['x-end-to-end'], 'kept');
    assert.equal(reply.headers['via'], '1.1 edgelb');
  });

  it('passes Content-Encoding and the encoded bytes through untouched', async () => {
    const res = await request(`${plain.url}/gzip`, { dispatcher: client, headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.headers['content-encoding'], 'gzip');
    const proxied = Buffer.from(await res.body.arrayBuffer());
    const served = upstreams.find((u) => u.name === res.headers['x-upstream'])!;
    const direct = await request(`http://${served.address}/gzip`);
    assert.deepEqual(proxied, Buffer.from(await direct.body.arrayBuffer()));
  });

  it('answers a malformed request with 400 and oversized headers with 431', async () => {
    assert.match(await rawExchange(plain.port, 'GARBAGE\r\n\r\n'), /^HTTP\/1\.1 400 /);
    assert.match(await rawExchange(plain.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
  });
});
