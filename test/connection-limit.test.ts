import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { TestCa, type CertFiles } from './support/certs.ts';
import { killAll, startEdgelbCommand, startUpstream, type Upstream } from './support/processes.ts';
import { waitFor } from './support/wait-for.ts';

const REQUEST = 'GET / HTTP/1.1\r\nHost: example.com\r\n\r\n';

/** A raw connection that collects what it reads and notes when it closes. */
function client(socket: Socket) {
  const state = { reply: '', closed: false };
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (state.reply += chunk));
  socket.on('error', () => {});
  socket.once('close', () => (state.closed = true));
  return state;
}

/** A plain connection that has been answered once and stays open (keep-alive). */
async function openServed(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  const state = client(socket);
  socket.write(REQUEST);
  await waitFor('the first answer', () => state.reply.startsWith('HTTP/1.1 200 OK'), { timeoutMs: 5_000 });
  return socket;
}

/** Still nothing read, and not closed, after `ms` (what a waiting connection looks like). */
async function assertWaits(state: { reply: string; closed: boolean }, ms: number, what: string): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  assert.equal(state.reply, '', `${what}: nothing answered while the worker is full`);
  assert.equal(state.closed, false, `${what}: not reset while the worker is full`);
}

describe('limits.max_connections', () => {
  let upstream: Upstream;
  let cert: CertFiles;
  before(async () => {
    upstream = await startUpstream('connection-limit');
    cert = new TestCa().issue(['example.com']);
  });
  after(killAll);

  async function start() {
    const lb = await startEdgelbCommand([], {
      listen: ['127.0.0.1:0', { addr: '127.0.0.1:0', tls: cert, h2: true }],
      limits: { max_connections: 3, client_keepalive_timeout: '60s' },
      upstreams: { web: { peers: [upstream.address] } },
    }, 'edgelb is serving');
    const [plain, tls] = (lb.ready.listen as string[]).map((address) => Number(address.split(':').pop()));
    return { ...lb, plain: plain!, tls: tls! };
  }

  it('holds connections past the limit unread, across listeners, and lets each in when one closes', async () => {
    const lb = await start();
    const open = [await openServed(lb.plain), await openServed(lb.plain), await openServed(lb.plain)];

    const waiting = connect(lb.plain, '127.0.0.1');
    const waitingState = client(waiting);
    waiting.write(REQUEST);
    const secure = tlsConnect({ host: '127.0.0.1', port: lb.tls, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    let handshaken = false;
    secure.once('secureConnect', () => {
      handshaken = true;
      secure.write(REQUEST);
    });
    const secureState = client(secure);
    await assertWaits(waitingState, 1_000, 'plain');
    assert.equal(handshaken, false, 'a TLS connection past the limit is not even handshaken');

    open[0]!.destroy();
    await waitFor('the waiting plain connection to be answered', () => waitingState.reply.startsWith('HTTP/1.1 200 OK'), { timeoutMs: 5_000 });
    assert.equal(handshaken, false, 'one slot lets one waiting connection in, the oldest');
    open[1]!.destroy();
    await waitFor('the waiting TLS connection to be answered', () => secureState.reply.startsWith('HTTP/1.1 200 OK'), { timeoutMs: 5_000 });

    // A TLS connection that closes frees its slot too.
    secure.destroy();
    waiting.destroy();
    const next = connect(lb.plain, '127.0.0.1');
    const nextState = client(next);
    next.write(REQUEST);
    await waitFor('a new connection once slots are free', () => nextState.reply.startsWith('HTTP/1.1 200 OK'), { timeoutMs: 5_000 });
    next.destroy();
    open[2]!.destroy();
    await lb.kill();
  });

  it('serves connections still waiting when SIGTERM comes, instead of resetting them', async () => {
    const lb = await start();
    const open = [await openServed(lb.plain), await openServed(lb.plain), await openServed(lb.plain)];
    const waiting = connect(lb.plain, '127.0.0.1');
    const waitingState = client(waiting);
    waiting.write(REQUEST);
    await assertWaits(waitingState, 500, 'before SIGTERM');
    lb.process.kill('SIGTERM');
    await waitFor('the waiting connection to be answered during the drain', () => waitingState.reply.startsWith('HTTP/1.1 200 OK'), { timeoutMs: 10_000 });
    assert.match(waitingState.reply, /^HTTP\/1\.1 200 OK\r\n/);
    for (const socket of open) socket.destroy();
    await once(lb.process, 'exit');
  });
});
