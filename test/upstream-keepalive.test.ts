import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { killAll, startEdgelb } from './support/processes.ts';

/** Longer than the default keepalive_timeout (4 s), shorter than the one configured below. */
const IDLE_MS = 5_000;

/**
 * An upstream that, like nginx, keeps idle connections (here for good) without announcing for how
 * long, and records the client port of each request. Node's own server would announce its timeout
 * in a `Keep-Alive` header, which undici follows instead of the configured value.
 */
async function portRecordingUpstream(): Promise<{ server: Server; address: string; ports: number[] }> {
  const ports: number[] = [];
  const server = createServer((socket) => {
    let pending = '';
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        pending = pending.slice(end + 4);
        ports.push(socket.remotePort!);
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, address: `127.0.0.1:${(server.address() as AddressInfo).port}`, ports };
}

describe('upstream keep-alive', () => {
  const servers: Server[] = [];
  after(() => {
    killAll();
    for (const server of servers) server.close();
  });

  it('keeps an idle upstream connection for keepalive_timeout, and closes it after the default 4 s', async () => {
    const [kept, dropped] = await Promise.all([portRecordingUpstream(), portRecordingUpstream()]);
    servers.push(kept.server, dropped.server);
    const [long, short] = await Promise.all([
      startEdgelb({ access_log: false, upstreams: { web: { peers: [kept.address], keepalive_timeout: '10s' } } }),
      startEdgelb({ access_log: false, upstreams: { web: { peers: [dropped.address] } } }),
    ]);
    const once = async (url: string) => assert.equal(await (await fetch(url)).text(), 'ok');
    await Promise.all([once(long.url), once(short.url)]);
    await delay(IDLE_MS);
    await Promise.all([once(long.url), once(short.url)]);
    assert.equal(kept.ports.length, 2);
    assert.equal(kept.ports[1], kept.ports[0], 'the second request went on the first one\'s connection');
    assert.equal(dropped.ports.length, 2);
    assert.notEqual(dropped.ports[1], dropped.ports[0], 'the default closed the idle connection');
  });
});
