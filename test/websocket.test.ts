import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket as WsClient } from 'ws';
import { adminUrl, sample } from './support/admin.ts';
import { TestCa } from './support/certs.ts';
import { clientFrame, FrameReader } from './support/ws-frames.ts';
import { killAll, startEdgelb, startWsUpstream } from './support/processes.ts';
import { waitFor } from './support/wait-for.ts';

type WsUpstream = Awaited<ReturnType<typeof startWsUpstream>>;

/** A WebSocket through edgelb, open, with the messages it received so far. */
async function openSocket(url: string): Promise<{ ws: WebSocket; received: (string | ArrayBuffer)[]; closed: Promise<CloseEvent> }> {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const received: (string | ArrayBuffer)[] = [];
  ws.addEventListener('message', (event) => received.push(event.data as string | ArrayBuffer));
  const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener('close', resolve));
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', () => reject(new Error(`WebSocket to ${url} failed`)));
  });
  return { ws, received, closed };
}

/** Sends `message` and resolves with the next message the socket receives. */
async function roundTrip(socket: Awaited<ReturnType<typeof openSocket>>, message: string | Uint8Array): Promise<string | ArrayBuffer> {
  const before = socket.received.length;
  socket.ws.send(message);
  return waitFor('the echo', () => socket.received.length > before && socket.received[before]!, { timeoutMs: 10_000 });
}

/** A raw Upgrade exchange: what the client read until the connection closed or `until` matched. */
function rawUpgrade(port: number, request: string, until: RegExp = /$^/): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let reply = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (until.test(reply)) socket.destroy();
    });
    socket.on('error', () => {});
    socket.once('close', () => resolve(reply));
  });
}

const WS_HEAD = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

describe('WebSocket and Upgrade tunnels', () => {
  let upstream: WsUpstream;
  before(async () => {
    upstream = await startWsUpstream('ws-a');
  });
  after(killAll);

  it('echoes text and binary messages, 10 MiB included, through a 101 tunnel', async () => {
    const lb = await startEdgelb({ upstreams: { web: { peers: [upstream.address] } } });
    const socket = await openSocket(`ws://127.0.0.1:${lb.port}/chat`);
    assert.equal(await roundTrip(socket, 'hello'), 'hello');
    const binary = new Uint8Array(256).map((_, i) => i);
    assert.deepEqual(new Uint8Array((await roundTrip(socket, binary)) as ArrayBuffer), binary);
    const big = new Uint8Array(10 * 1024 * 1024).map((_, i) => (i * 31) & 0xff);
    const echoed = new Uint8Array((await roundTrip(socket, big)) as ArrayBuffer);
    assert.equal(echoed.length, big.length);
    assert.ok(Buffer.from(echoed).equals(Buffer.from(big)), 'the 10 MiB message came back intact');
    socket.ws.close();
    await socket.closed;
    await lb.kill();
  });

  it('carries 200 tunnels at once', async () => {
    const lb = await startEdgelb({ upstreams: { web: { peers: [upstream.address] } } });
    const sockets = await Promise.all(Array.from({ length: 200 }, () => openSocket(`ws://127.0.0.1:${lb.port}/many`)));
    const echoes = await Promise.all(sockets.map((socket, i) => roundTrip(socket, `message ${i}`)));
    assert.deepEqual(echoes, sockets.map((_, i) => `message ${i}`));
    assert.ok((await upstream.stats()).open >= 200);
    for (const socket of sockets) socket.ws.close();
    await Promise.all(sockets.map((socket) => socket.closed));
    await lb.kill();
  });

  it('passes other Upgrade tokens, keeping the bytes sent right after the request head', async () => {
    const lb = await startEdgelb({ upstreams: { web: { peers: [upstream.address] } } });
    const reply = await rawUpgrade(lb.port, 'GET /raw HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nUpgrade: raw-echo\r\n\r\nearly-bytes', /early-bytes/);
    assert.match(reply, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(reply, /\r\nupgrade: raw-echo\r\n/i);
    assert.match(reply, /\r\nx-upstream: ws-a\r\n/);
    assert.match(reply, /\r\n\r\nearly-bytes$/);
    await lb.kill();
  });

  it('passes a refusal (403) back as a normal response and closes the connection', async () => {
    const lb = await startEdgelb({ upstreams: { web: { peers: [upstream.address] } } });
    const reply = await rawUpgrade(lb.port, `GET /forbidden HTTP/1.1\r\nHost: example.com\r\n${WS_HEAD}\r\n`);
    assert.match(reply, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.match(reply, /\r\nconnection: close\r\n/i);
    assert.match(reply, /\r\n\r\nforbidden\n$/);
    await lb.kill();
  });

  it('answers 503 to an upgrade when no peer is up, and goes to the next peer when the first refuses the connection', async () => {
    const gone = await startWsUpstream('ws-gone');
    const other = await startWsUpstream('ws-b');
    const lb = await startEdgelb({ upstreams: { web: { peers: [gone.address, other.address], health_check: { interval: '60s' } } } });
    await gone.kill();
    for (let i = 0; i < 4; i++) {
      const socket = await openSocket(`ws://127.0.0.1:${lb.port}/retry`);
      assert.equal(await roundTrip(socket, 'who'), 'ws-b');
      socket.ws.close();
    }
    await lb.kill();
    const down = await startEdgelb({ upstreams: { web: { peers: [gone.address] } } });
    assert.match(await rawUpgrade(down.port, `GET / HTTP/1.1\r\nHost: example.com\r\n${WS_HEAD}\r\n`), /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    await down.kill();
    await other.kill();
  });

  it('closes a tunnel idle for tunnel_idle_timeout, and keeps a busy one open past it', async () => {
    const lb = await startEdgelb({ upstreams: { web: { peers: [upstream.address], tunnel_idle_timeout: '1s', read_timeout: '500ms' } } });
    const idle = await openSocket(`ws://127.0.0.1:${lb.port}/idle`);
    const busy = await openSocket(`ws://127.0.0.1:${lb.port}/busy`);
    const started = performance.now();
    let idleClosedAt = 0;
    void idle.closed.then(() => (idleClosedAt = performance.now()));
    // Busy for 3 s: three idle timeouts, six read timeouts.
    while (performance.now() - started < 3_000) {
      assert.equal(await roundTrip(busy, 'ping'), 'ping');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.ok(idleClosedAt > 0, 'the idle tunnel was closed');
    assert.ok(idleClosedAt - started > 800 && idleClosedAt - started < 2_800, `closed about 1 s in, at ${Math.round(idleClosedAt - started)} ms`);
    assert.equal(busy.ws.readyState, WebSocket.OPEN, 'the busy tunnel is still open');
    busy.ws.close();
    await lb.kill();
  });

  it('logs one access line per tunnel when it ends, with its duration, bytes and who closed it', async () => {
    const file = join(tmpdir(), `edgelb-tunnel-${process.pid}.log`);
    const lb = await startEdgelb({ access_log: file, upstreams: { web: { peers: [upstream.address] } } });
    const socket = await openSocket(`ws://127.0.0.1:${lb.port}/logged`);
    await roundTrip(socket, 'x'.repeat(1000));
    socket.ws.send('close');
    await socket.closed;
    const line = await waitFor('the tunnel\'s access line', () => readFileSync(file, 'utf8').split('\n').filter(Boolean)
      .map((text) => JSON.parse(text) as Record<string, unknown>).find((entry) => entry.path === '/logged'), { timeoutMs: 10_000 });
    assert.equal(line.status, 101);
    assert.equal(line.tunnelEnd, 'peer');
    assert.ok((line.bytesIn as number) > 1000 && (line.bytesOut as number) > 1000, JSON.stringify(line));
    await lb.kill();
  });

  it('keeps tunnels working through SIGTERM until the grace period ends, then closes them', async () => {
    const lb = await startEdgelb({ grace_period_seconds: 2, upstreams: { web: { peers: [upstream.address] } } });
    const socket = await openSocket(`ws://127.0.0.1:${lb.port}/long`);
    const signalled = performance.now();
    lb.process.kill('SIGTERM');
    await waitFor('new connections to be refused', () => new Promise<boolean>((resolve) => {
      const probe = connect(lb.port, '127.0.0.1');
      probe.once('connect', () => (probe.destroy(), resolve(false)));
      probe.once('error', () => resolve(true));
    }), { timeoutMs: 5_000 });
    assert.equal(await roundTrip(socket, 'still there'), 'still there', 'the tunnel works after SIGTERM');
    await socket.closed;
    const heldMs = performance.now() - signalled;
    assert.ok(heldMs > 1_500 && heldMs < 6_000, `closed at the 2 s grace period, after ${Math.round(heldMs)} ms`);
    await once(lb.process, 'exit');
  });
  it('shows open tunnels per peer in /status and the metrics, and a drained peer keeps its tunnels', async () => {
    const other = await startWsUpstream('ws-c');
    const token = 'tunnel-token-0123456789abcdef';
    const lb = await startEdgelb({ admin: { listen: '127.0.0.1:0', token }, upstreams: { web: { peers: [upstream.address, other.address] } } });
    const admin = adminUrl(lb);
    const get = async (path: string) => (await fetch(`${admin}${path}`, { headers: { authorization: `Bearer ${token}` } }));
    const peer = { pool: 'web', peer: upstream.address };
    const metricsText = async () => (await get('/metrics')).text();
    assert.equal(sample(await metricsText(), 'edgelb_tunnels_open', peer), 0, 'the series exists before the first tunnel');
    assert.equal(sample(await metricsText(), 'edgelb_tunnel_duration_seconds_count', peer), 0);

    const sockets = await Promise.all(Array.from({ length: 4 }, () => openSocket(`ws://127.0.0.1:${lb.port}/counted`)));
    const names = await Promise.all(sockets.map((socket) => roundTrip(socket, 'who')));
    const onA = sockets.filter((_, i) => names[i] === 'ws-a');
    assert.equal(onA.length, 2, 'round robin: two tunnels to each peer');
    const status = await (await get('/status')).json() as { pools: { peers: { id: string; tunnels: number }[] }[] };
    assert.deepEqual(status.pools[0]!.peers.map((p) => p.tunnels), [2, 2]);
    assert.equal(sample(await metricsText(), 'edgelb_tunnels_open', peer), 2);

    const drained = await fetch(`${admin}/pools/web/peers/${encodeURIComponent(upstream.address)}/drain`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    assert.equal(drained.status, 200);
    for (const socket of onA) assert.equal(await roundTrip(socket, 'still'), 'still', 'a drained peer keeps its tunnels');
    const fresh = await openSocket(`ws://127.0.0.1:${lb.port}/after-drain`);
    assert.equal(await roundTrip(fresh, 'who'), 'ws-c', 'new tunnels go to the other peer');

    for (const socket of [...sockets, fresh]) socket.ws.close();
    await Promise.all([...sockets, fresh].map((socket) => socket.closed));
    const after = await waitFor('the tunnels to be counted as ended', async () => {
      const text = await metricsText();
      return sample(text, 'edgelb_tunnels_open', peer) === 0 && sample(text, 'edgelb_tunnel_duration_seconds_count', peer) === 2 && text;
    });
    assert.ok(sample(after, 'edgelb_tunnel_bytes_total', { ...peer, direction: 'in' })! > 0);
    assert.ok(sample(after, 'edgelb_tunnel_bytes_total', { ...peer, direction: 'out' })! > 0);
    assert.equal(sample(after, 'edgelb_requests_total', { route: 'default', ...peer, status_class: '1xx' }), 2);
    await lb.kill();
    await other.kill();
  });

  it('carries WebSockets on TLS listeners, an h2 one included (its HTTP/1.1 connections, as browsers fall back to)', async () => {
    const cert = new TestCa().issue(['example.com']);
    const lb = await startEdgelb({
      listen: [{ addr: '127.0.0.1:0', tls: cert }, { addr: '127.0.0.1:0', tls: cert, h2: true }],
      upstreams: { web: { peers: [upstream.address] } },
    });
    const ports = (lb.logs.find((line) => line.msg === 'edgelb is serving')!.listen as string[]).map((address) => Number(address.split(':').pop()));
    for (const port of ports) {
      const ws = new WsClient(`wss://127.0.0.1:${port}/secure`, { rejectUnauthorized: false });
      await once(ws, 'open');
      ws.send('over tls');
      const [data] = await once(ws, 'message') as [Buffer];
      assert.equal(data.toString(), 'over tls', `port ${port}`);
      ws.close();
      await once(ws, 'close');
    }
    await lb.kill();
  });

  it('carries WebSockets over HTTP/2 (extended CONNECT, RFC 8441) as an HTTP/1.1 upgrade to the peer', async () => {
    const cert = new TestCa().issue(['example.com']);
    const lb = await startEdgelb({ listen: [{ addr: '127.0.0.1:0', tls: cert, h2: true }], upstreams: { web: { peers: [upstream.address] } } });
    const session: ClientHttp2Session = http2Connect(`https://127.0.0.1:${lb.port}`, { rejectUnauthorized: false, servername: 'example.com' });
    const [settings] = await once(session, 'remoteSettings') as [{ enableConnectProtocol?: boolean }];
    assert.equal(settings.enableConnectProtocol, true, 'the listener offers extended CONNECT');
    const open = (path: string) => {
      const stream = session.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'https', ':path': path, ':authority': 'example.com', 'sec-websocket-version': '13' });
      const frames = new FrameReader();
      stream.on('data', (chunk: Buffer) => frames.push(chunk));
      return { stream, frames, response: once(stream, 'response') as Promise<[Record<string, string | number>]> };
    };
    // Two WebSockets on one connection, next to an ordinary request.
    const [first, second] = [open('/h2-a'), open('/h2-b')];

    for (const socket of [first, second]) {
      const [head] = await socket.response;
      assert.equal(head[':status'], 200);
      assert.equal(head['sec-websocket-accept'], undefined, 'the HTTP/1.1 handshake stays between edgelb and the peer');
    }
    first.stream.write(clientFrame('over h2'));
    second.stream.write(clientFrame(Buffer.alloc(70_000, 7), 0x2));
    await waitFor('both echoes', () => first.frames.frames.length > 0 && second.frames.frames.length > 0);
    assert.deepEqual(first.frames.frames[0], { opcode: 1, payload: Buffer.from('over h2') });
    assert.equal(second.frames.frames[0]!.opcode, 2);
    assert.ok(second.frames.frames[0]!.payload.equals(Buffer.alloc(70_000, 7)));
    const plain = session.request({ ':path': '/stats', ':authority': 'example.com' });
    const [plainHead] = await once(plain, 'response') as [Record<string, string | number>];
    assert.equal(plainHead[':status'], 200);
    plain.resume();

    // A peer that refuses the upgrade: its answer comes back as the stream's response.
    const refused = open('/forbidden');
    const [refusedHead] = await refused.response;
    assert.equal(refusedHead[':status'], 403);
    // A plain CONNECT (a tunnel to wherever the client names) is never proxied.
    const tunnel = session.request({ ':method': 'CONNECT', ':authority': 'example.com:443' });
    const [tunnelHead] = await once(tunnel, 'response') as [Record<string, string | number>];
    assert.equal(tunnelHead[':status'], 400);
    tunnel.resume();
    for (const socket of [first, second]) socket.stream.close();
    session.close();
    await lb.kill();
  });

  it('answers 502 to an HTTP/2 WebSocket whose peer gets the handshake wrong (Sec-WebSocket-Accept)', async () => {
    const liar = createServer((socket) => socket.once('data', () => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm90IHRoZSByaWdodCBvbmU=\r\n\r\n')));
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    try {
      const cert = new TestCa().issue(['example.com']);
      const lb = await startEdgelb({ listen: [{ addr: '127.0.0.1:0', tls: cert, h2: true }], upstreams: { web: { peers: [`127.0.0.1:${(liar.address() as AddressInfo).port}`] } } });
      const session = http2Connect(`https://127.0.0.1:${lb.port}`, { rejectUnauthorized: false });
      await once(session, 'remoteSettings');
      const stream = session.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'https', ':path': '/', ':authority': 'example.com', 'sec-websocket-version': '13' });
      const [head] = await once(stream, 'response') as [Record<string, string | number>];
      assert.equal(head[':status'], 502);
      stream.resume();
      session.close();
      await lb.kill();
    } finally {
      liar.close();
    }
  });

  it('counts tunnels against limits.max_connections', async () => {
    const lb = await startEdgelb({ limits: { max_connections: 2 }, upstreams: { web: { peers: [upstream.address] } } });
    const [one, two] = await Promise.all([openSocket(`ws://127.0.0.1:${lb.port}/one`), openSocket(`ws://127.0.0.1:${lb.port}/two`)]);
    let opened = false;
    const third = openSocket(`ws://127.0.0.1:${lb.port}/three`).then((socket) => ((opened = true), socket));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(opened, false, 'a third connection waits while two tunnels are open');
    one.ws.close();
    const socket = await third;
    assert.equal(await roundTrip(socket, 'in'), 'in');
    for (const open of [two, socket]) open.ws.close();
    await lb.kill();
  });

  it('holds none of a peer\'s request connections or queue with its tunnels (max_connections_per_peer)', async () => {
    const lb = await startEdgelb({ upstreams: { web: { peers: [upstream.address], max_connections_per_peer: 1, max_queue_per_peer: 0 } } });
    const sockets = [];
    for (let i = 0; i < 4; i++) sockets.push(await openSocket(`ws://127.0.0.1:${lb.port}/slot-${i}`));
    const plain = await fetch(`${lb.url}/stats`);
    assert.equal(plain.status, 200, 'a request still finds the peer\'s one connection free');
    await plain.text();
    for (const socket of sockets) socket.ws.close();
    await lb.kill();
  });

});
