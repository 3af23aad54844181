import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { killAll, startEdgelb, startUpstream } from './support/processes.ts';
import { client } from './support/http.ts';
import { waitFor } from './support/wait-for.ts';

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

describe('graceful shutdown (SIGTERM)', () => {
  after(killAll);

  it('stops accepting, finishes the request in flight, and exits 0', async () => {
    const upstream = await startUpstream('slow');
    const lb = await startEdgelb({ grace_period_seconds: 10, upstreams: { web: { peers: [upstream.address] } } });
    const inFlight = request(`${lb.url}/slow?ms=1500`, { dispatcher: client });
    await waitFor('the request to reach the peer', async () => (await upstream.stats()).slowPending === 1);
    lb.process.kill('SIGTERM');
    // Supervisors repeat SIGTERM and Ctrl-C reaches the whole process group: a second signal
    // must not turn the graceful shutdown into an abrupt one.
    await waitFor('the shutdown to begin', () => lb.logs.some((l) => l.msg === 'shutting down gracefully'));
    lb.process.kill('SIGINT');

    await waitFor('new connections to be refused', () => refusesConnections(lb.port));
    assert.equal(lb.process.exitCode, null, 'still running while the request is in flight');
    const res = await inFlight;
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'slow slow\n');
    assert.equal(res.headers['connection'], 'close', 'the last response asks the client to close');
    assert.equal(await lb.exited, 0);
    await waitFor('the second signal to be logged', () => lb.logs.some((l) => l.msg === 'already shutting down gracefully'));
  });

  it('closes idle keep-alive connections at once', async () => {
    const upstream = await startUpstream('idle');
    const lb = await startEdgelb({ grace_period_seconds: 10, upstreams: { web: { peers: [upstream.address] } } });
    const socket = connect(lb.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await once(socket, 'data');
    const signalledAt = performance.now();
    lb.process.kill('SIGTERM');
    await once(socket, 'close');
    assert.ok(performance.now() - signalledAt < 2000, 'the idle connection was closed, not left to the grace period');
    assert.equal(await lb.exited, 0);
  });

  it('cuts what is still running when the grace period ends', async () => {
    const upstream = await startUpstream('slower');
    const lb = await startEdgelb({ grace_period_seconds: 0.5, upstreams: { web: { peers: [upstream.address] } } });
    const inFlight = request(`${lb.url}/slow?ms=10000`, { dispatcher: client }).then(
      (res) => res.body.text(),
      (error: unknown) => error,
    );
    await waitFor('the request to reach the peer', async () => (await upstream.stats()).slowPending === 1);
    const signalledAt = performance.now();
    lb.process.kill('SIGTERM');
    assert.equal(await lb.exited, 0);
    assert.ok(performance.now() - signalledAt < 3000, 'exited soon after the grace period');
    assert.ok((await inFlight) instanceof Error, 'the unfinished request was cut');
  });
});
