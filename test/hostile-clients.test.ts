import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TestCa, type CertFiles } from './support/certs.ts';
import { ERROR, getRequest, RawH2 } from './support/h2-frames.ts';
import { holdOpen } from './support/hostile.ts';
import { rawExchange } from './support/http.ts';
import { rawRequest } from './support/raw-request.ts';
import { killAll, startEdgelbCommand, startUpstream, type LogLine, type Upstream } from './support/processes.ts';
import { waitFor } from './support/wait-for.ts';

/** Starts edgelb on the given listeners and returns their ports, in order, and the worker's pid. */
async function start(config: Record<string, unknown>) {
  const lb = await startEdgelbCommand([], config, 'edgelb is serving');
  const ports = (lb.ready.listen as string[]).map((address) => Number(address.split(':').pop()));
  const [worker] = lb.ready.workers as number[];
  return { ...lb, ports, worker: worker!, url: `http://127.0.0.1:${ports[0]}` };
}

/** No worker was replaced: the one that started still serves, and none was logged as exited. */
function assertSameWorker(lb: { worker: number; logs: LogLine[] }): void {
  process.kill(lb.worker, 0);
  assert.equal(lb.logs.filter((line) => line.msg.startsWith('worker exited')).length, 0, 'no worker restarted');
}

/** Reads from a raw connection until `count` responses have started, or fails at the deadline. */
function countResponses(socket: ReturnType<typeof connect>, count: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    let tail = '';
    const timer = setTimeout(() => reject(new Error(`only ${seen} of ${count} responses within ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      const text = tail + chunk;
      seen += text.split('HTTP/1.1 200 OK\r\n').length - 1;
      tail = text.slice(-20);
      if (seen >= count) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
  });
}

describe('hostile clients', () => {
  let upstream: Upstream;
  let ca: TestCa;
  let cert: CertFiles;
  before(async () => {
    upstream = await startUpstream('hostile');
    ca = new TestCa();
    cert = ca.issue(['example.com']);
  });
  after(killAll);

  it('serves pipelined requests one at a time: 10,000 on one connection use at most the per-peer cap upstream', async () => {
    const lb = await start({ listen: ['127.0.0.1:0'], upstreams: { web: { peers: [upstream.address], max_connections_per_peer: 4 } } });
    const before = await upstream.stats();
    const total = 10_000;
    const socket = connect(lb.ports[0]!, '127.0.0.1');
    const answered = countResponses(socket, total, 60_000);
    socket.write('GET /pipelined HTTP/1.1\r\nHost: example.com\r\n\r\n'.repeat(total));
    // Legitimate clients are served meanwhile.
    const others = await Promise.all(Array.from({ length: 20 }, () => rawRequest(`${lb.url}/legit`)));
    assert.deepEqual(others.map((reply) => reply.status), Array(20).fill(200));
    assert.equal(await answered, total, 'every pipelined request is answered, in order');
    socket.destroy();
    const after = await upstream.stats();
    assert.ok(after.peakConnections <= 4, `at most 4 upstream connections were open at once, saw ${after.peakConnections}`);
    assert.ok(after.connections - before.connections <= 4, `at most 4 upstream connections were opened, saw ${after.connections - before.connections}`);
    assertSameWorker(lb);
    await lb.kill();
  });

  it('caps upstream connections per peer and answers 503 with Retry-After once the wait queue is full', async () => {
    const slow = await startUpstream('capped');
    const lb = await start({
      listen: ['127.0.0.1:0'],
      upstreams: { web: { peers: [slow.address], max_connections_per_peer: 3, max_queue_per_peer: 5 } },
    });
    const replies = await Promise.all(Array.from({ length: 30 }, () => rawRequest(`${lb.url}/slow?ms=1000`)));
    const ok = replies.filter((reply) => reply.status === 200);
    const busy = replies.filter((reply) => reply.status === 503);
    assert.equal(ok.length, 8, 'the connections (3) and the wait queue (5) are served');
    assert.equal(busy.length, 22, 'the rest are told the peers are busy');
    assert.ok(busy.every((reply) => reply.headers['retry-after'] === '1' && /connection limit/.test(reply.body)));
    const stats = await slow.stats();
    assert.ok(stats.peakConnections <= 3, `at most 3 upstream connections at once, saw ${stats.peakConnections}`);
    assert.equal((await rawRequest(`${lb.url}/after`)).status, 200, 'served again once the burst is over');
    assertSameWorker(lb);
    await lb.kill();
  });

  it('answers 408 and closes connections whose request head dribbles in (slowloris), on every HTTP/1.1 listener', async () => {
    const lb = await start({
      listen: ['127.0.0.1:0', { addr: '127.0.0.1:0', tls: cert }, { addr: '127.0.0.1:0', tls: cert, h2: true }],
      limits: { client_header_timeout: '1s' },
      upstreams: { web: { peers: [upstream.address] } },
    });
    const [plain, https, h2] = lb.ports as [number, number, number];
    const dribble = { first: 'GET / HTTP/1.1\r\nHost: example.com\r\n', drip: 'X-Slow: 1\r\n', dripMs: 200 };
    const held = Promise.all([
      ...Array.from({ length: 200 }, () => holdOpen(plain, dribble)),
      ...Array.from({ length: 25 }, () => holdOpen(https, { ...dribble, tls: true })),
      ...Array.from({ length: 25 }, () => holdOpen(h2, { ...dribble, tls: true })),
    ]);
    const legit = await rawRequest(`${lb.url}/legit`);
    assert.equal(legit.status, 200, 'other clients are served during the attack');
    const results = await waitFor('every dribbling connection to be closed', async () => held, { timeoutMs: 15_000 });
    for (const { reply, heldMs } of results) {
      assert.match(reply, /^HTTP\/1\.1 408 Request Timeout\r\n/);
      assert.ok(heldMs < 4_000, `closed soon after the 1 s header timeout, held ${Math.round(heldMs)} ms`);
    }
    assertSameWorker(lb);
    await lb.kill();
  });

  it('refuses targets with a fragment or dot-segments (400), forwarding nothing; dots inside names pass', async () => {
    const lb = await start({ listen: ['127.0.0.1:0'], upstreams: { web: { peers: [upstream.address] } } });
    const before = await upstream.stats();
    const ask = (target: string) => rawExchange(lb.ports[0]!, `GET ${target} HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n`);
    for (const target of ['/public/../admin', '/a/./b', '/..', '/a/%2E%2e/b', '/a/%2e?x', '/a#frag', 'http://example.com/a/../b']) {
      assert.match(await ask(target), /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*fragment or a dot-segment/, target);
    }
    assert.equal((await upstream.stats()).connections, before.connections, 'nothing reached the peer');
    for (const target of ['/.well-known/x', '/a/..b/c', '/a.b/c', '/v1.2/x?q=..', '/login?next=/../home']) assert.match(await ask(target), /^HTTP\/1\.1 200 OK\r\n/, target);
    await lb.kill();
  });

  it('answers every ambiguous framing form of the smuggling corpus with 400, and the peer receives nothing', async () => {
    const lb = await start({ listen: ['127.0.0.1:0'], upstreams: { web: { peers: [upstream.address] } } });
    const host = 'Host: example.com\r\n';
    // Ambiguities in the head: refused before anything is forwarded.
    const inTheHead: Record<string, string> = {
      'Content-Length and Transfer-Encoding': `POST / HTTP/1.1\r\n${host}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      'two differing Content-Length': `POST / HTTP/1.1\r\n${host}Content-Length: 4\r\nContent-Length: 5\r\n\r\nabcde`,
      'a Content-Length list': `POST / HTTP/1.1\r\n${host}Content-Length: 4, 5\r\n\r\nabcde`,
      'a signed Content-Length': `POST / HTTP/1.1\r\n${host}Content-Length: +4\r\n\r\nabcd`,
      'a negative Content-Length': `POST / HTTP/1.1\r\n${host}Content-Length: -1\r\n\r\n`,
      'Transfer-Encoding: xchunked': `POST / HTTP/1.1\r\n${host}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`,
      'Transfer-Encoding: chunked, identity': `POST / HTTP/1.1\r\n${host}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`,
      'a space before the colon': `POST / HTTP/1.1\r\n${host}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`,
      'a vertical tab in the value': `POST / HTTP/1.1\r\n${host}Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n`,
      'a folded header line': `POST / HTTP/1.1\r\n${host}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n`,
      'bare LF line ends': `POST / HTTP/1.1\n${host.replace('\r\n', '\n')}Content-Length: 0\n\n`,
      'a bare CR': `GET / HTTP/1.1\r${host}\r\n`,
      'a NUL in a value': `GET / HTTP/1.1\r\n${host}X-A: a\x00b\r\n\r\n`,
      'a space in a name': `GET / HTTP/1.1\r\n${host}X A: b\r\n\r\n`,
      'two Host headers': `GET / HTTP/1.1\r\n${host}Host: other.example\r\n\r\n`,
      'HTTP/1.1 without Host': 'GET / HTTP/1.1\r\n\r\n',
      'an unknown version': `GET / HTTP/1.2x\r\n${host}\r\n`,
      'a request line without a version, then headers (HTTP/0.9 to the parser)': `GET /\r\n${host}\r\n`,
    };
    const before = await upstream.stats();
    for (const [form, text] of Object.entries(inTheHead)) {
      assert.match(await rawExchange(lb.ports[0]!, text), /^HTTP\/1\.1 400 Bad Request\r\n/, form);
    }
    assert.equal((await upstream.stats()).connections, before.connections, 'no request of the corpus reached the peer');
    // Malformed chunks are found in the body, after the request went upstream: still a 400.
    for (const chunk of ['4x\r\nabcd\r\n0\r\n\r\n', '4\nabcd\r\n0\r\n\r\n']) {
      const text = `POST /upload HTTP/1.1\r\n${host}Transfer-Encoding: chunked\r\n\r\n${chunk}`;
      assert.match(await rawExchange(lb.ports[0]!, text), /^HTTP\/1\.1 400 Bad Request\r\n/, JSON.stringify(chunk));
    }
    assertSameWorker(lb);
    await lb.kill();
  });

  it('closes TLS connections that do not finish their handshake', async () => {
    const lb = await start({
      listen: [{ addr: '127.0.0.1:0', tls: cert }, { addr: '127.0.0.1:0', tls: cert, h2: true }],
      limits: { tls_handshake_timeout: '1s' },
      upstreams: { web: { peers: [upstream.address] } },
    });
    // Nothing at all, and the first bytes of a ClientHello.
    const partialHello = '\x16\x03\x01\x00\xc8\x01\x00\x00';
    const results = await waitFor('every stalled handshake to be closed', async () => Promise.all(lb.ports.flatMap((port) => [
      ...Array.from({ length: 20 }, () => holdOpen(port)),
      ...Array.from({ length: 20 }, () => holdOpen(port, { first: partialHello })),
    ])), { timeoutMs: 15_000 });
    for (const { heldMs } of results) assert.ok(heldMs < 4_000, `closed soon after the 1 s handshake timeout, held ${Math.round(heldMs)} ms`);
    assertSameWorker(lb);
    await lb.kill();
  });
  it('HTTP/2: streams past the 128 allowed are refused (REFUSED_STREAM), the connection and the others carry on', async () => {
    const lb = await start({ listen: [{ addr: '127.0.0.1:0', tls: cert, h2: true }], upstreams: { web: { peers: [upstream.address] } } });
    const h2 = await RawH2.open(lb.ports[0]!);
    // Sent before the client could acknowledge the server's SETTINGS, as a real client's first
    // flight is: the streams past the limit it has not seen yet must be refused, not fatal.
    for (let i = 0; i < 200; i++) h2.send(getRequest(1 + 2 * i, 'example.com', '/slow?ms=300'));
    await h2.until('an answer or a reset for every stream', () => h2.answered().size + h2.resets().size >= 200);
    assert.equal(h2.answered().size, 128);
    assert.deepEqual([...new Set(h2.resets().values())], [ERROR.REFUSED_STREAM]);
    assert.equal(h2.resets().size, 72);
    assert.equal(h2.goaway(), undefined, 'the connection stays up');
    await h2.ping();
    h2.send(getRequest(401, 'example.com', '/after'));
    await h2.until('the next stream to be answered', () => h2.answered().has(401));

    // A client that goes past the limit it has acknowledged breaks the protocol: it loses the
    // connection (GOAWAY), and nobody else notices.
    h2.send(Buffer.concat(Array.from({ length: 200 }, (_, i) => getRequest(403 + 2 * i, 'example.com', '/slow?ms=300'))));
    await h2.until('a GOAWAY', () => h2.goaway() !== undefined);
    assert.equal(h2.goaway()!.payload.readUInt32BE(4), ERROR.PROTOCOL_ERROR);
    h2.close();
    const other = await RawH2.open(lb.ports[0]!);
    other.send(getRequest(1, 'example.com', '/other'));
    await other.until('another client to be answered', () => other.answered().has(1));
    other.close();
    assertSameWorker(lb);
    await lb.kill();
  });

  it('HTTP/2: a header field with a forbidden character never reaches the peer', async () => {
    const lb = await start({ listen: [{ addr: '127.0.0.1:0', tls: cert, h2: true }], upstreams: { web: { peers: [upstream.address] } } });
    const h2 = await RawH2.open(lb.ports[0]!);
    await h2.ping();
    const fields: [string, string][] = [['x-bad', 'a\x00b'], ['x-bad', 'a\rb'], ['x-bad', 'a\nb'], ['x-bad', ' lead'], ['x-bad', 'trail '], ['x bad', 'v'], ['X-Bad', 'v'], ['x-bad:', 'v']];
    fields.forEach((field, i) => h2.send(getRequest(1 + 2 * i, 'example.com', '/echo', [field, ['x-good', 'kept']])));
    await h2.until('every stream to end', () => fields.every((_, i) => h2.resets().has(1 + 2 * i) || /\}\s*$/.test(h2.body(1 + 2 * i))));
    for (const [i, field] of fields.entries()) {
      const stream = 1 + 2 * i;
      if (h2.resets().has(stream)) continue;
      const seen = (JSON.parse(h2.body(stream)) as { rawHeaders: string[] }).rawHeaders.map((item) => item.toLowerCase());
      assert.ok(seen.includes('x-good'), `${JSON.stringify(field)}: the request was forwarded`);
      assert.ok(!seen.some((item) => item.startsWith('x-bad') || item.startsWith('x bad')), `${JSON.stringify(field)}: the bad field is not forwarded`);
    }
    h2.close();
    assertSameWorker(lb);
    await lb.kill();
  });
  it('never reuses the upstream connection of a request whose chunked body turned out malformed', async () => {
    // A peer that records what each connection carried and answers each request head with "ok".
    const carried: string[] = [];
    const peer = createServer((socket) => {
      const index = carried.push('') - 1;
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        carried[index] += chunk;
        for (const _ of chunk.matchAll(/^(?:GET|POST) /gm)) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
    try {
      const lb = await start({ listen: ['127.0.0.1:0'], upstreams: { web: { peers: [`127.0.0.1:${(peer.address() as AddressInfo).port}`], health_check: { interval: '60s' } } } });
      const ask = (text: string) => rawExchange(lb.ports[0]!, text);
      assert.match(await ask('GET /first HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 200 OK\r\n/);
      const malformed = 'POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\nZZ\r\nGET /smuggled HTTP/1.1\r\n\r\n';
      assert.match(await ask(malformed), /^HTTP\/1\.1 400 Bad Request\r\n/);
      for (const path of ['/next', '/after']) assert.match(await ask(`GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`), /^HTTP\/1\.1 200 OK\r\n/);
      const all = carried.join('');
      assert.ok(!all.includes('/smuggled'), 'nothing after the malformed chunk went upstream');
      for (const text of carried.filter((t) => t.includes('POST /upload'))) {
        assert.ok(!/POST \/upload[\s\S]*(?:GET|POST) \//.test(text), `no request followed the broken one on its connection: ${JSON.stringify(text)}`);
      }
      assert.ok(all.includes('GET /next') && all.includes('GET /after'));
      assertSameWorker(lb);
      await lb.kill();
    } finally {
      peer.close();
    }
  });

});
