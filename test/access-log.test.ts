import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { connect as http2Connect } from 'node:http2';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { accessLines, type AccessLine } from './support/admin.ts';
import { TestCa } from './support/certs.ts';
import { rawRequest } from './support/raw-request.ts';
import { killAll, startEdgelb, startEdgelbCommand, startUpstream } from './support/processes.ts';
import { waitFor } from './support/wait-for.ts';

const logFile = () => join(mkdtempSync(join(tmpdir(), 'edgelb-access-')), 'access.log');

function lineFor(file: string, requestId: string): Promise<AccessLine> {
  return waitFor(`the access log line of ${requestId}`, () => accessLines(file).find((line) => line.requestId === requestId));
}

/** edgelb with its stdout (where the access log goes by default) piped to this test. */
function spawnWithStdout(config: Record<string, unknown>) {
  const file = join(mkdtempSync(join(tmpdir(), 'edgelb-access-')), 'edgelb.yaml');
  writeFileSync(file, stringify({ listen: ['127.0.0.1:0'], ...config }));
  const child = spawn(process.execPath, [fileURLToPath(new URL('../bin/edgelb.js', import.meta.url)), '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  const port = waitFor('edgelb to serve', () => /"listen":\["127\.0\.0\.1:(\d+)"\]/.exec(stderr)?.[1]);
  return { child, exited, port };
}

describe('access log', () => {
  afterEach(killAll);
  after(killAll);

  it('writes one JSON line per proxied request with its timings, sizes, pool and peer', async () => {
    const upstream = await startUpstream('a');
    const file = logFile();
    const lb = await startEdgelb({ access_log: file, upstreams: { web: { peers: [upstream.address] } } });

    const before = Date.now();
    const res = await fetch(`${lb.url}/echo?x=1`, { method: 'POST', body: 'x'.repeat(1000), headers: { 'x-request-id': 'req-1' } });
    const body = await res.text();
    assert.equal(res.status, 200);

    const line = await lineFor(file, 'req-1');
    assert.ok(Number(line.time) >= before && Number(line.time) <= Date.now(), `time ${line.time}`);
    assert.equal(line.client, '127.0.0.1');
    assert.equal(line.method, 'POST');
    assert.equal(line.path, '/echo?x=1');
    assert.equal(line.status, 200);
    assert.equal(line.bytesIn, 1000);
    assert.equal(line.bytesOut, Buffer.byteLength(body));
    assert.equal(line.pool, 'web');
    assert.equal(line.peer, upstream.address);
    assert.equal(line.retries, 0);
    assert.equal(line.error, undefined);
    const { upstreamConnectMs, upstreamHeaderMs, upstreamTotalMs, durationMs } = line;
    assert.ok(upstreamConnectMs !== undefined && upstreamHeaderMs !== undefined && upstreamTotalMs !== undefined);
    assert.ok(upstreamConnectMs >= 0 && upstreamConnectMs <= upstreamHeaderMs, 'connect comes before the response head');
    assert.ok(upstreamHeaderMs <= upstreamTotalMs && upstreamTotalMs <= durationMs, 'the head comes before the end');

    // Requests without an id of their own get one, each a different one.
    for (let i = 0; i < 3; i++) await (await fetch(`${lb.url}/n${i}`)).text();
    const others = await waitFor('three more lines', () => {
      const lines = accessLines(file).filter((l) => l.path.startsWith('/n'));
      return lines.length === 3 && lines;
    });
    assert.equal(new Set(others.map((l) => l.requestId)).size, 3);
  });

  it('logs host, protocol, TLS, user agent, referer, the peer\'s status, ISO times; sends the request id upstream', async () => {
    const upstream = await startUpstream('a');
    const file = logFile();
    const cert = new TestCa().issue(['shop.example']);
    const lb = await startEdgelbCommand([], {
      listen: ['127.0.0.1:0', { addr: '127.0.0.1:0', tls: cert, h2: true }], access_log: file, access_log_time: 'iso8601',
      upstreams: { web: { peers: [upstream.address] } },
    }, 'edgelb is serving');
    const [plainPort, tlsPort] = (lb.ready.listen as string[]).map((address) => Number(address.split(':').pop()));
    const res = await rawRequest(`http://127.0.0.1:${plainPort}/plain`, { headers: { 'user-agent': 'probe/1.0 "quoted"', referer: 'https://ref.example/', host: 'shop.example' } });
    const echo = JSON.parse(res.body) as { rawHeaders: string[] };
    const plain = await waitFor('the plain line', () => accessLines(file).find((line) => line.path === '/plain'));
    assert.equal(plain.protocol, 'HTTP/1.1');
    assert.equal(plain.host, 'shop.example');
    assert.equal(plain.userAgent, 'probe/1.0 "quoted"');
    assert.equal(plain.referer, 'https://ref.example/');
    assert.equal(plain.upstreamStatus, 200);
    assert.equal(plain.tls, undefined);
    assert.match(String(plain.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const sentId = echo.rawHeaders[echo.rawHeaders.findIndex((name) => name.toLowerCase() === 'x-request-id') + 1];
    assert.equal(sentId, plain.requestId, 'the peer got the id of the log line');

    const session = http2Connect(`https://127.0.0.1:${tlsPort}`, { rejectUnauthorized: false, servername: 'shop.example' });
    const stream = session.request({ ':path': '/over-h2', ':authority': 'shop.example' });
    stream.resume();
    await once(stream, 'end');
    session.close();
    const h2 = await waitFor('the HTTP/2 line', () => accessLines(file).find((line) => line.path === '/over-h2'));
    assert.equal(h2.protocol, 'HTTP/2.0');
    assert.equal(h2.host, 'shop.example');
    assert.deepEqual(h2.tls, { version: 'TLSv1.3', sni: 'shop.example' });
    await lb.kill();
  });

  it('writes nginx\'s combined format when asked, as log tools parse it', async () => {
    const upstream = await startUpstream('a');
    const file = logFile();
    const lb = await startEdgelb({ access_log: file, access_log_format: 'combined', upstreams: { web: { peers: [upstream.address] } } });
    await (await fetch(`${lb.url}/page?q=1`, { headers: { 'user-agent': 'agent "x"', referer: 'https://r.example/' } })).text();
    await (await fetch(`${lb.url}/bare`)).text();
    const lines = await waitFor('two lines', () => {
      const text = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
      return text.length >= 2 && text;
    });
    // GoAccess's and most tools' reading of nginx's combined format.
    const COMBINED = /^(\S+) - (\S+) \[(\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "(\S+) (\S+) (HTTP\/[\d.]+)" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$/;
    const [page, bare] = lines.map((line) => COMBINED.exec(line));
    assert.ok(page && bare, lines.join('\n'));
    assert.deepEqual(page.slice(4, 8), ['GET', '/page?q=1', 'HTTP/1.1', '200']);
    assert.equal(page[9], 'https://r.example/');
    assert.equal(page[10], 'agent \\x22x\\x22', 'a quote is escaped as nginx does');
    assert.equal(Date.parse(page[3]!.replace(/^(\d+)\/(\w+)\/(\d+):/, '$2 $1 $3 ')) > 0, true);
    assert.deepEqual([bare[9], bare[10]!.length > 0], ['-', true]);
    await lb.kill();
  });

  it('logs pipelined requests whose client left, the one running and the ones waiting behind it, as 499', async () => {
    const slow = await startUpstream('slow');
    const file = logFile();
    const lb = await startEdgelb({ access_log: file, upstreams: { web: { peers: [slow.address] } } });
    const socket = connect(lb.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(['p-0', 'p-1', 'p-2'].map((id) => `GET /slow?ms=5000 HTTP/1.1\r\nHost: h\r\nX-Request-Id: ${id}\r\n\r\n`).join(''));
    await waitFor('the first request to reach the peer', async () => (await slow.stats()).slowPending === 1);
    socket.destroy();
    const lines = await Promise.all(['p-0', 'p-1', 'p-2'].map((id) => lineFor(file, id)));
    assert.deepEqual(lines.map((line) => line.status), [499, 499, 499]);
    assert.equal(lines[0]!.peer, slow.address, 'the running one had gone to the peer');
    assert.deepEqual([lines[1]!.peer, lines[2]!.peer], [undefined, undefined], 'the waiting ones never did');
  });

  it('logs retries, and failures with their status and reason (502, 503)', async () => {
    const [live, dead] = await Promise.all([startUpstream('live'), startUpstream('dead')]);
    const file = logFile();
    // The dead peer stays in rotation (long interval, high fall), as in the moments before a check.
    const lb = await startEdgelb({
      access_log: file,
      upstreams: {
        retrying: { peers: [dead.address, live.address], retries: 1, health_check: { interval: '60s', fall: 100 } },
      },
    });
    const only = await startEdgelb({
      access_log: file,
      upstreams: { single: { peers: [dead.address], retries: 0, health_check: { interval: '60s', fall: 100 } } },
    });
    await dead.kill();

    for (let i = 0; i < 2; i++) {
      const res = await fetch(lb.url, { headers: { 'x-request-id': `retry-${i}` } });
      assert.equal(res.status, 200);
      await res.text();
    }
    const retried = (await Promise.all([lineFor(file, 'retry-0'), lineFor(file, 'retry-1')])).find((l) => l.retries === 1);
    assert.ok(retried, 'one request went to the dead peer first');
    assert.equal(retried.status, 200);
    assert.equal(retried.peer, live.address, 'the peer field names the peer that answered');
    assert.deepEqual(retried.failedPeers, [dead.address], 'and the peer that failed before it');

    const badGateway = await fetch(only.url, { headers: { 'x-request-id': 'bad-gateway' } });
    const badGatewayBody = await badGateway.text();
    assert.equal(badGateway.status, 502);
    const failed = await lineFor(file, 'bad-gateway');
    assert.equal(failed.status, 502);
    assert.equal(failed.peer, dead.address);
    assert.equal(failed.bytesOut, Buffer.byteLength(badGatewayBody));
    assert.ok(failed.error, 'the reason is logged');
    assert.equal(failed.upstreamHeaderMs, undefined, 'no response head arrived');

    await only.kill();
    const down = await startEdgelb({ access_log: file, upstreams: { single: { peers: [dead.address] } } });
    const unavailable = await fetch(down.url, { headers: { 'x-request-id': 'unavailable' } });
    await unavailable.text();
    assert.equal(unavailable.status, 503);
    const noPeer = await lineFor(file, 'unavailable');
    assert.equal(noPeer.status, 503);
    assert.equal(noPeer.pool, 'single');
    assert.equal(noPeer.peer, undefined);
    assert.match(noPeer.error ?? '', /no healthy peer/);
  });

  it('goes to stdout by default, and can be switched off', async () => {
    const upstream = await startUpstream('a');
    const run = async (accessLog: boolean | undefined) => {
      const { child, exited, port } = spawnWithStdout({ access_log: accessLog, upstreams: { web: { peers: [upstream.address] } } });
      let stdout = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      try {
        const res = await fetch(`http://127.0.0.1:${await port}/stdout`, { headers: { 'x-request-id': 'on-stdout' } });
        assert.equal(res.status, 200);
        await res.text();
      } finally {
        // A graceful stop writes out whatever the log still buffers.
        child.kill('SIGTERM');
        await exited;
      }
      return stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as AccessLine);
    };
    const byDefault = await run(undefined);
    assert.deepEqual(byDefault.map((line) => [line.requestId, line.path, line.status]), [['on-stdout', '/stdout', 200]]);
    assert.deepEqual(await run(false), []);
  });

  it('a reader that stops reading holds no request up, and gets every line once it reads again', async () => {
    const upstream = await startUpstream('a');
    const { child, exited, port } = spawnWithStdout({ upstreams: { web: { peers: [upstream.address] } } });
    // Nobody reads stdout for now: once the pipe and this side's buffer are full, writes stall.
    child.stdout.pause();
    try {
      // About 1.5 MB of log lines, far more than the pipe and the paused stream's buffer hold.
      const path = `/${'x'.repeat(400)}`;
      for (let i = 0; i < 3000; i++) {
        const res = await fetch(`http://127.0.0.1:${await port}${path}`);
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }
      let stdout = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stdout.resume();
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.equal(stdout.split('\n').filter((line) => line.includes(path)).length, 3000, 'no line was lost');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('stops the start, naming the key, when the log file cannot be opened', async () => {
    const upstream = await startUpstream('a');
    await assert.rejects(
      startEdgelb({ access_log: '/nonexistent-dir/access.log', upstreams: { web: { peers: [upstream.address] } } }),
      /access_log: cannot open "\/nonexistent-dir\/access.log": ENOENT/,
    );
  });
});
