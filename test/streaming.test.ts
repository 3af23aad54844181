import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { killAll, peakRss, startEdgelb, startUpstream, type Edgelb } from './support/processes.ts';
import { client } from './support/http.ts';
import { patternSha256, patternStream } from './support/pattern.ts';
import { waitFor } from './support/wait-for.ts';

const MiB = 1024 * 1024;
const SIZE = 100 * MiB;
/** Node, undici and the garbage a fast transfer leaves for the collector fit in this. */
const RSS_LIMIT = 256 * MiB;
/** What the peak may grow by while 4x more data flows: a buffered body would add 400 MiB. */
const RSS_GROWTH_LIMIT = 48 * MiB;

describe('streaming bodies', () => {
  let lb: Edgelb;
  const expectedSha = patternSha256(SIZE);

  before(async () => {
    const upstream = await startUpstream('big');
    lb = await startEdgelb({ upstreams: { web: { peers: [upstream.address] } } }, { LOG_LEVEL: 'info' });
  });
  after(killAll);

  it('streams a 100 MiB upload to the peer intact', async () => {
    const res = await request(`${lb.url}/upload`, {
      method: 'POST',
      dispatcher: client,
      headers: { 'content-type': 'application/octet-stream' },
      body: patternStream(SIZE),
    });
    const received = (await res.body.json()) as { length: number; sha256: string };
    assert.equal(res.statusCode, 200);
    assert.equal(received.length, SIZE);
    assert.equal(received.sha256, expectedSha);
  });

  it('streams a 100 MiB download to the client intact', async () => {
    const res = await request(`${lb.url}/download?bytes=${SIZE}`, { dispatcher: client });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-length'], String(SIZE));
    const hash = createHash('sha256');
    let length = 0;
    for await (const chunk of res.body) {
      hash.update(chunk as Buffer);
      length += (chunk as Buffer).length;
    }
    assert.equal(length, SIZE);
    assert.equal(hash.digest('hex'), expectedSha);
  });

  it('keeps memory flat however much flows through: bodies are never buffered', async () => {
    // The worker process serves; the primary only holds the sockets and probes.
    const pid = (lb.logs.find((line) => line.msg === 'edgelb is serving')!.workers as number[])[0]!;
    const afterFirst = await peakRss(pid);
    const download = await request(`${lb.url}/download?bytes=${4 * SIZE}`, { dispatcher: client });
    for await (const _chunk of download.body) void _chunk;
    const upload = await request(`${lb.url}/upload`, { method: 'POST', dispatcher: client, body: patternStream(4 * SIZE) });
    assert.equal(((await upload.body.json()) as { length: number }).length, 4 * SIZE);
    const afterMore = await peakRss(pid);
    assert.ok(afterFirst < RSS_LIMIT, `peak RSS ${(afterFirst / MiB).toFixed(0)} MiB after 100 MiB each way`);
    assert.ok(afterMore - afterFirst < RSS_GROWTH_LIMIT,
      `peak RSS grew ${((afterMore - afterFirst) / MiB).toFixed(0)} MiB over another 400 MiB each way`);
  });
});

describe('a slow client', () => {
  after(killAll);

  it('gets a download intact while edgelb holds back the peer instead of reading ahead', async () => {
    const upstream = await startUpstream('fast');
    const lb = await startEdgelb({ upstreams: { web: { peers: [upstream.address] } } }, { LOG_LEVEL: 'info' });
    const size = 192 * MiB;
    const res = await request(`${lb.url}/download?bytes=${size}`, { dispatcher: client, highWaterMark: 64 * 1024 });
    const hash = createHash('sha256');
    let length = 0;
    let aheadWhilePaused = -1;
    for await (const chunk of res.body) {
      hash.update(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (aheadWhilePaused < 0 && length >= 8 * MiB) {
        // Stop reading for a while: a balancer that ignored backpressure would now drain the
        // whole download from the peer into its own memory.
        await new Promise((resolve) => setTimeout(resolve, 700));
        aheadWhilePaused = (await upstream.stats()).downloadBytesSent - length;
      }
    }
    assert.equal(length, size);
    assert.equal(hash.digest('hex'), patternSha256(size));
    // What may sit between the peer and a stalled client: socket buffers on both hops (the
    // kernel grows loopback receive buffers up to tcp_rmem's maximum, 32 MiB here, under load)
    // plus edgelb's own small write buffer: tens of MiB at worst, far from the 184 MiB to come.
    assert.ok(aheadWhilePaused < 64 * MiB, `the peer got ${(aheadWhilePaused / MiB).toFixed(1)} MiB ahead of the stalled client`);
  });
});

describe('a slow peer', () => {
  after(killAll);

  it('gets an upload intact while edgelb holds back the client instead of reading ahead', async () => {
    const upstream = await startUpstream('slow-reader');
    const lb = await startEdgelb({ upstreams: { web: { peers: [upstream.address] } } }, { LOG_LEVEL: 'info' });
    const size = 48 * MiB;
    let pulled = 0;
    const body = patternStream(size, (bytes) => (pulled = bytes));
    const reply = request(`${lb.url}/upload?stall=1500`, { method: 'POST', dispatcher: client, body });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // While the peer reads nothing, only socket buffers on both hops and edgelb's small read
    // buffer may fill; a balancer that ignored backpressure would take all 48 MiB now.
    const aheadWhileStalled = pulled;
    const res = await reply;
    const received = (await res.body.json()) as { length: number; sha256: string };
    assert.equal(received.length, size);
    assert.equal(received.sha256, patternSha256(size));
    assert.ok(aheadWhileStalled < 16 * MiB, `the client got ${(aheadWhileStalled / MiB).toFixed(1)} MiB out while the peer read nothing`);
  });
});

describe('retries with a request body', () => {
  after(killAll);

  it('sends a POST to the next peer when the first refuses the connection, body intact', async () => {
    const [gone, alive] = await Promise.all([startUpstream('gone'), startUpstream('alive')]);
    // A long interval and a high fall keep the dead peer in rotation, as in the moments before a
    // check notices.
    const lb = await startEdgelb({
      upstreams: { web: { peers: [gone.address, alive.address], health_check: { interval: '60s', fall: 100 } } },
    });
    await gone.kill();
    const size = 3 * MiB;
    for (let i = 0; i < 4; i++) {
      const res = await request(`${lb.url}/upload`, { method: 'POST', dispatcher: client, body: patternStream(size) });
      const received = (await res.body.json()) as { name: string; length: number; sha256: string };
      assert.equal(res.statusCode, 200);
      assert.deepEqual(received, { name: 'alive', length: size, sha256: patternSha256(size) });
    }
    await waitFor('the refused attempt to be logged',
      () => lb.logs.some((l) => l.failedPeer === gone.address && String(l.error).startsWith('ECONNREFUSED')));
  });
});
