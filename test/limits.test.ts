import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { holdOpen } from './support/hostile.ts';
import { rawExchange } from './support/http.ts';
import { killAll, startEdgelb, startUpstream, type Edgelb, type Upstream } from './support/processes.ts';

/** The status line's code of a raw reply. */
function status(reply: string): number {
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(reply)?.[1] ?? 0);
}

/** A request head with exactly `count` header fields (Host first), closing the connection after. */
function withHeaders(count: number, path = '/'): string {
  const fields = ['Host: example.com', 'Connection: close', ...Array.from({ length: count - 2 }, (_, i) => `X-Field-${i}: ${i}`)];
  return `GET ${path} HTTP/1.1\r\n${fields.join('\r\n')}\r\n\r\n`;
}

describe('limits', () => {
  let upstream: Upstream;
  let lb: Edgelb;
  before(async () => {
    upstream = await startUpstream('limited');
    lb = await startEdgelb({
      limits: { max_uri_length: 64, max_headers: 10, max_header_size: '2k', max_body_size: 1000, client_body_timeout: '1s', client_keepalive_timeout: '1s' },
      routes: [{ match: { path: '/small' }, pool: 'web', max_body_size: 10 }, { pool: 'web' }],
      upstreams: { web: { peers: [upstream.address] } },
    });
  });
  after(killAll);

  it('max_uri_length: a target of exactly the limit passes, one byte more is 414', async () => {
    const at = `/${'a'.repeat(63)}`;
    assert.equal(status(await rawExchange(lb.port, `GET ${at} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`)), 200);
    const over = await rawExchange(lb.port, `GET ${at}a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`);
    assert.equal(status(over), 414);
    assert.match(over, /request target is longer than 64 bytes/);
  });

  it('max_headers: exactly the limit passes, one field more is 431', async () => {
    assert.equal(status(await rawExchange(lb.port, withHeaders(10))), 200);
    assert.equal(status(await rawExchange(lb.port, withHeaders(11))), 431);
  });

  it('max_header_size: a head within it passes, a larger one is 431 and the connection closes', async () => {
    const head = (pad: number) => `GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\nX-Pad: ${'p'.repeat(pad)}\r\n\r\n`;
    assert.equal(status(await rawExchange(lb.port, head(1900))), 200);
    assert.equal(status(await rawExchange(lb.port, head(2100))), 431);
  });

  it('max_body_size: a declared length at the limit passes; one byte over is 413 up front and the peer gets nothing', async () => {
    const post = (length: number, path = '/upload') => `POST ${path} HTTP/1.1\r\nHost: h\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n${'b'.repeat(length)}`;
    const ok = await rawExchange(lb.port, post(1000));
    assert.equal(status(ok), 200);
    assert.match(ok, /"length":1000/);
    const before = (await upstream.stats()).connections;
    const refused = await rawExchange(lb.port, post(1001));
    assert.equal(status(refused), 413);
    assert.match(refused, /larger than 1000 bytes/);
    assert.match(refused, /\r\nconnection: close\r\n/i);
    assert.equal((await upstream.stats()).connections, before, 'nothing of it reached the peer');
    assert.equal(status(await rawExchange(lb.port, post(10, '/small'))), 200, 'a route may lower it: at its limit');
    assert.equal(status(await rawExchange(lb.port, post(11, '/small'))), 413);
  });

  it('max_body_size: a chunked body that grows past the limit is cut there and answered 413', async () => {
    const chunk = (text: string) => `${text.length.toString(16)}\r\n${text}\r\n`;
    const head = 'POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n';
    const within = await rawExchange(lb.port, `${head}${chunk('x'.repeat(600))}${chunk('y'.repeat(400))}0\r\n\r\n`);
    assert.equal(status(within), 200);
    assert.match(within, /"length":1000/);
    const over = await rawExchange(lb.port, `${head}${chunk('x'.repeat(600))}${chunk('y'.repeat(401))}0\r\n\r\n`);
    assert.equal(status(over), 413);
  });

  it('client_body_timeout: a body that stops arriving gets 408', async () => {
    const { reply, heldMs } = await holdOpen(lb.port, { first: 'POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789' });
    assert.equal(status(reply), 408);
    assert.match(reply, /request body stalled/);
    assert.ok(heldMs > 900 && heldMs < 4_000, `closed about 1 s after the last chunk, held ${Math.round(heldMs)} ms`);
  });

  it('client_keepalive_timeout: an idle keep-alive connection is closed after it', async () => {
    const socket = connect(lb.port, '127.0.0.1');
    const answered = new Promise<number>((resolve) => socket.once('data', () => resolve(performance.now())));
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
    socket.on('error', () => {});
    socket.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    const idleMs = (await closed) - (await answered);
    assert.ok(idleMs > 800 && idleMs < 3_000, `closed about 1 s after the answer, idle ${Math.round(idleMs)} ms`);
  });
});
