import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { killAll, startEdgelb, startUpstream } from './support/processes.ts';
import { rawExchange } from './support/http.ts';
import { waitFor } from './support/wait-for.ts';

/** A peer that answers every request with `reply` and then closes the connection. */
function startRawPeer(reply: string): Promise<Server> {
  const server = createServer((socket) => socket.once('data', () => socket.end(reply)));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** A peer that passes TCP checks but hangs up on every HTTP request. */
function startHangingUpPeer(): Promise<Server> {
  const server = createServer((socket) => socket.once('data', () => socket.destroy()));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('error responses', () => {
  after(killAll);

  it('answers 503 with Retry-After and a request id found in the log when no peer is healthy', async () => {
    const dead = await startUpstream('dead');
    await dead.kill();
    const lb = await startEdgelb({ upstreams: { web: { peers: [dead.address], health_check: { interval: '2s' } } } });
    const res = await fetch(lb.url);
    const body = await res.text();
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '2');
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const id = res.headers.get('x-request-id');
    assert.ok(id);
    assert.match(body, /no healthy peer/);
    assert.ok(body.includes(id), 'the body names the request id');
    const line = await waitFor('the log line of the failed request', () => lb.logs.find((l) => l.requestId === id && l.msg === 'request failed'));
    assert.equal(line.status, 503);
  });

  it('keeps a client-supplied X-Request-Id', async () => {
    const dead = await startUpstream('dead');
    await dead.kill();
    const lb = await startEdgelb({ upstreams: { web: { peers: [dead.address] } } });
    const res = await fetch(lb.url, { headers: { 'x-request-id': 'trace-42' } });
    await res.text();
    assert.equal(res.headers.get('x-request-id'), 'trace-42');
  });

  it('answers 502 when the peer breaks the exchange', async () => {
    const peer = await startHangingUpPeer();
    try {
      const port = (peer.address() as { port: number }).port;
      const lb = await startEdgelb({ upstreams: { web: { peers: [`127.0.0.1:${port}`] } } });
      const res = await fetch(lb.url);
      const body = await res.text();
      assert.equal(res.status, 502);
      const id = res.headers.get('x-request-id')!;
      assert.ok(body.includes(id));
      const line = await waitFor('the log line', () => lb.logs.find((l) => l.requestId === id && l.msg === 'request failed'));
      assert.match(String(line.cause), /UND_ERR_SOCKET|ECONNRESET/);
    } finally {
      peer.close();
    }
  });

  it('answers 504 when the peer does not answer within read_timeout', async () => {
    const slow = await startUpstream('slow');
    const lb = await startEdgelb({ upstreams: { web: { peers: [slow.address], read_timeout: '300ms' } } });
    const started = performance.now();
    const res = await fetch(`${lb.url}/slow?ms=3000`);
    await res.text();
    assert.equal(res.status, 504);
    assert.ok(performance.now() - started < 2000, 'the timeout, not the peer, ended the request');
    const fast = await fetch(`${lb.url}/slow?ms=10`);
    assert.equal(fast.status, 200, 'the peer stays usable');
    await fast.text();
  });

  it('frees the upstream request when the client leaves before the answer', async () => {
    const slow = await startUpstream('slow');
    const lb = await startEdgelb({ upstreams: { web: { peers: [slow.address] } } });
    const leaving = new AbortController();
    const pending = fetch(`${lb.url}/slow?ms=10000`, { signal: leaving.signal }).catch(() => 'aborted');
    await waitFor('the request to reach the peer', async () => (await slow.stats()).slowPending === 1);
    leaving.abort();
    assert.equal(await pending, 'aborted');
    await waitFor('the peer to see its request abandoned', async () => (await slow.stats()).abandoned === 1, { timeoutMs: 3000 });
  });

  it('cuts off a client that stalls in the middle of its upload', async () => {
    const upstream = await startUpstream('patient');
    const lb = await startEdgelb({ upstreams: { web: { peers: [upstream.address], read_timeout: '500ms' } } });
    const socket = connect(lb.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789');
    socket.resume();
    const started = performance.now();
    await once(socket, 'close');
    const waited = performance.now() - started;
    // read_timeout + 1 s of grace, and not the minutes an unbounded wait would take.
    assert.ok(waited > 1000 && waited < 4000, `closed after ${waited.toFixed(0)} ms`);
  });

  it('answers requests Node or the adapter reject with a request id that is logged', async () => {
    const dead = await startUpstream('unused');
    const lb = await startEdgelb({ upstreams: { web: { peers: [dead.address] } } });
    for (const [request, status] of [
      ['GARBAGE\r\n\r\n', 400],
      [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`, 431],
      ['GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n', 400],
    ] as const) {
      const reply = await rawExchange(lb.port, request);
      assert.match(reply, new RegExp(`^HTTP/1\\.1 ${status} `));
      const id = /x-request-id: (\S+)/i.exec(reply)?.[1];
      assert.ok(id, `a ${status} carries a request id`);
      await waitFor(`the log line of ${id}`, () => lb.logs.some((l) => l.requestId === id));
    }
  });

  it('cuts the client connection when the peer dies mid-body, and keeps serving', async () => {
    const peer = await startRawPeer('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly ten b');
    try {
      const port = (peer.address() as { port: number }).port;
      const lb = await startEdgelb({ upstreams: { web: { peers: [`127.0.0.1:${port}`] } } });
      for (let i = 0; i < 3; i++) {
        const outcome = await fetch(lb.url).then((res) => res.text()).then(
          (text) => `complete: ${text.length} bytes`,
          (error: unknown) => `cut: ${String((error as Error).cause ?? error)}`,
        );
        assert.match(outcome, /^cut: /, 'a truncated body must not look like a whole answer');
      }
      assert.equal(lb.process.exitCode, null, 'edgelb is still running');
    } finally {
      peer.close();
    }
  });

  it('answers 502 when the peer sends something that is not HTTP', async () => {
    const peer = await startRawPeer('SSH-2.0-OpenSSH_9.2\r\n');
    try {
      const port = (peer.address() as { port: number }).port;
      const lb = await startEdgelb({ upstreams: { web: { peers: [`127.0.0.1:${port}`] } } });
      const res = await fetch(lb.url);
      await res.text();
      assert.equal(res.status, 502);
    } finally {
      peer.close();
    }
  });
  it('answers 502 when the peer\'s body is broken from its first byte (a chunk size that overflows)', async () => {
    const peer = await startRawPeer('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n');
    try {
      const port = (peer.address() as { port: number }).port;
      const lb = await startEdgelb({ upstreams: { web: { peers: [`127.0.0.1:${port}`] } } });
      assert.match(await rawExchange(lb.port, 'GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    } finally {
      peer.close();
    }
  });

  it('passes a response head on at once when its body comes later (server-sent events)', async () => {
    // The head alone now, the event in 5 s: the client must see the head long before the event.
    const sockets = new Set<Socket>();
    const server = createServer((socket) => socket.once('data', () => {
      sockets.add(socket);
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
      const timer = setTimeout(() => socket.end('b\r\ndata: one\n\n\r\n0\r\n\r\n'), 5_000);
      socket.once('close', () => clearTimeout(timer));
    }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const lb = await startEdgelb({ upstreams: { web: { peers: [`127.0.0.1:${port}`] } } });
      const started = performance.now();
      const controller = new AbortController();
      const res = await fetch(`${lb.url}/events`, { signal: controller.signal });
      const headMs = performance.now() - started;
      assert.equal(res.headers.get('content-type'), 'text/event-stream');
      assert.ok(headMs < 2_500, `the head arrived after ${Math.round(headMs)} ms, not with the event 5 s later`);
      controller.abort();
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });
});
