import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { TestCa, type CertFiles } from './support/certs.ts';
import { echoHeader, type Echo } from './support/http.ts';
import { patternChunk } from './support/pattern.ts';
import { killAll, startEdgelb, startUpstream, type Edgelb, type Upstream } from './support/processes.ts';
import { h2Request, h2Session, handshake } from './support/tls.ts';
import { waitFor } from './support/wait-for.ts';

const run = promisify(execFile);

/** curl against the listener, resolving example.com (and other names) to 127.0.0.1. */
async function curl(port: number, args: string[], ca: string, host = 'example.com'): Promise<string> {
  const { stdout } = await run('curl', ['-sS', '--cacert', ca, '--resolve', `${host}:${port}:127.0.0.1`, ...args]);
  return stdout;
}

describe('TLS and HTTP/2 listeners', () => {
  let ca: TestCa;
  let example: CertFiles;
  let other: CertFiles;
  let upstream: Upstream;
  let edgelb: Edgelb;

  before(async () => {
    ca = new TestCa();
    example = ca.issue(['example.com', 'www.example.com']);
    other = ca.issue(['*.other.test']);
    upstream = await startUpstream('a');
    edgelb = await startEdgelb({
      listen: [{ addr: '127.0.0.1:0', tls: { cert: example.cert, key: example.key, certs: [other] }, h2: true }],
      upstreams: { web: { peers: [upstream.address] } },
    });
  });
  after(killAll);

  it('speaks HTTP/2 and HTTP/1.1 on the same port, chosen by ALPN', async () => {
    assert.equal((await handshake(edgelb.port, { ALPNProtocols: ['h2', 'http/1.1'] })).alpn, 'h2');
    assert.equal((await handshake(edgelb.port, { ALPNProtocols: ['http/1.1'] })).alpn, 'http/1.1');
    const overH2 = await curl(edgelb.port, ['--http2', '-w', '\\n%{http_version}', `https://example.com:${edgelb.port}/via-h2`], ca.cert);
    const overH1 = await curl(edgelb.port, ['--http1.1', '-w', '\\n%{http_version}', `https://example.com:${edgelb.port}/via-h1`], ca.cert);
    const [h2Body, h2Version] = overH2.split('\n');
    const [h1Body, h1Version] = overH1.split('\n');
    assert.equal(h2Version, '2');
    assert.equal(h1Version, '1.1');
    assert.equal((JSON.parse(h2Body!) as Echo).url, '/via-h2');
    assert.equal((JSON.parse(h1Body!) as Echo).url, '/via-h1');
  });

  it('sends an HTTP/2 request upstream with the same header rules as HTTP/1.1', async () => {
    const session = await h2Session(edgelb.port, ca.cert);
    try {
      const reply = await h2Request(session, {
        ':method': 'GET', ':path': '/headers?x=1', 'x-custom': 'kept', cookie: ['a=1', 'b=2'], te: 'trailers',
      });
      assert.equal(reply.headers[':status'], 200);
      assert.equal(reply.headers.via, '1.1 edgelb');
      const echo = JSON.parse(reply.body.toString()) as Echo;
      assert.equal(echo.url, '/headers?x=1');
      const names = echo.rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
      assert.ok(!names.some((name) => name.startsWith(':')), `no pseudo-header upstream: ${names.join(',')}`);
      assert.ok(!names.includes('te'));
      assert.deepEqual(echoHeader(echo, 'host'), [`example.com:${edgelb.port}`]);
      assert.deepEqual(echoHeader(echo, 'x-forwarded-host'), [`example.com:${edgelb.port}`]);
      assert.deepEqual(echoHeader(echo, 'x-forwarded-proto'), ['https']);
      assert.deepEqual(echoHeader(echo, 'x-forwarded-for'), ['127.0.0.1']);
      assert.deepEqual(echoHeader(echo, 'via'), ['2 edgelb']);
      assert.deepEqual(echoHeader(echo, 'x-custom'), ['kept']);
      assert.deepEqual(echoHeader(echo, 'cookie'), ['a=1; b=2']);
    } finally {
      session.close();
    }
  });

  it('answers 400 to an HTTP/2 request whose Host differs from its :authority', async () => {
    const session = await h2Session(edgelb.port, ca.cert);
    try {
      const reply = await h2Request(session, { ':method': 'GET', ':path': '/', ':authority': 'example.com', host: 'elsewhere.test' });
      assert.equal(reply.headers[':status'], 400);
    } finally {
      session.close();
    }
  });

  it('streams HTTP/2 request and response bodies without a length', async () => {
    const session = await h2Session(edgelb.port, ca.cert);
    try {
      const size = 8 * 1024 * 1024;
      const upload = Buffer.concat([patternChunk(0, size / 2), patternChunk(size / 2, size / 2)]);
      const stream = session.request({ ':method': 'POST', ':path': '/upload' });
      let sent = 0;
      const chunk = 256 * 1024;
      const pump = () => {
        while (sent < size) {
          const part = upload.subarray(sent, sent + chunk);
          sent += part.length;
          if (!stream.write(part)) return void stream.once('drain', pump);
        }
        stream.end();
      };
      pump();
      const chunks: Buffer[] = [];
      stream.on('data', (data: Buffer) => chunks.push(data));
      await new Promise((resolve, reject) => stream.once('end', resolve).once('error', reject));
      const result = JSON.parse(Buffer.concat(chunks).toString()) as { length: number; sha256: string };
      const { createHash } = await import('node:crypto');
      assert.equal(result.length, size);
      assert.equal(result.sha256, createHash('sha256').update(upload).digest('hex'));

      const download = await h2Request(session, { ':method': 'GET', ':path': `/download?bytes=${size}` });
      assert.equal(download.body.length, size);
      assert.ok(download.body.equals(patternChunk(0, size)));
    } finally {
      session.close();
    }
  });

  it('holds the peer back while an HTTP/2 client stops reading a download', async () => {
    const MiB = 1024 * 1024;
    const size = 48 * MiB;
    const session = await h2Session(edgelb.port, ca.cert);
    try {
      const sentBefore = (await upstream.stats()).downloadBytesSent;
      const stream = session.request({ ':method': 'GET', ':path': `/download?bytes=${size}` });
      let length = 0;
      let aheadWhilePaused: number | undefined;
      for await (const chunk of stream) {
        length += (chunk as Buffer).length;
        if (aheadWhilePaused === undefined && length >= 8 * MiB) {
          // A deliberate stall: a balancer that ignored backpressure would now drain the whole
          // download from the peer into its own memory.
          await new Promise((resolve) => setTimeout(resolve, 700));
          aheadWhilePaused = (await upstream.stats()).downloadBytesSent - sentBefore - length;
        }
      }
      assert.ok(aheadWhilePaused !== undefined);
      assert.equal(length, size);
      assert.ok(aheadWhilePaused < 16 * MiB, `the peer got ${(aheadWhilePaused / MiB).toFixed(1)} MiB ahead of the stalled client`);
    } finally {
      session.close();
    }
  });

  it('serves 100 concurrent streams on one HTTP/2 connection', async () => {
    const session = await h2Session(edgelb.port, ca.cert);
    try {
      const replies = await Promise.all(Array.from({ length: 100 }, (_, i) =>
        h2Request(session, { ':method': 'GET', ':path': `/slow?ms=300&n=${i}` })));
      assert.deepEqual(replies.map((r) => r.headers[':status']), Array(100).fill(200));
      assert.deepEqual(replies.map((r) => r.body.toString()), Array(100).fill('a slow\n'));
    } finally {
      session.close();
    }
  });

  it('aborts only the HTTP/2 stream whose client gave up, not its neighbours', async () => {
    const session = await h2Session(edgelb.port, ca.cert);
    try {
      // Earlier tests' slow requests may still be closing on the peer's side.
      const before = await waitFor('no slow request left upstream', async () => {
        const stats = await upstream.stats();
        return stats.slowPending === 0 && stats;
      });
      const kept = h2Request(session, { ':method': 'GET', ':path': '/slow?ms=600' });
      const dropped = session.request({ ':method': 'GET', ':path': '/slow?ms=5000' });
      dropped.on('error', () => {});
      await waitFor('both requests upstream', async () => (await upstream.stats()).slowPending === 2);
      dropped.close();
      await waitFor('the dropped request to be abandoned upstream', async () => (await upstream.stats()).abandoned > before.abandoned);
      assert.equal((await kept).body.toString(), 'a slow\n');
    } finally {
      session.close();
    }
  });

  it('picks the certificate by SNI, with the first one as the default', async () => {
    const names = async (servername?: string) => (await handshake(edgelb.port, servername ? { servername } : {})).certificate.subject.CN;
    assert.equal(await names('example.com'), 'example.com');
    assert.equal(await names('www.example.com'), 'example.com');
    assert.equal(await names('api.other.test'), '*.other.test');
    assert.equal(await names('unknown.test'), 'example.com');
    assert.equal(await names(), 'example.com');
    // A verifying client accepts the chosen certificate for its name.
    const body = await curl(edgelb.port, [`https://api.other.test:${edgelb.port}/sni`], ca.cert, 'api.other.test');
    assert.equal((JSON.parse(body) as Echo).url, '/sni');
  });

  it('refuses old protocol versions and weak ciphers', async () => {
    await assert.rejects(handshake(edgelb.port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }));
    await assert.rejects(handshake(edgelb.port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA' }));
    assert.equal((await handshake(edgelb.port, { maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2');
    assert.equal((await handshake(edgelb.port)).protocol, 'TLSv1.3');
  });
});

describe('certificate reload', () => {
  let ca: TestCa;
  let served: CertFiles;
  let edgelb: Edgelb;
  let upstream: Upstream;

  const servedSerial = async () => (await handshake(edgelb.port, { servername: 'example.com' })).certificate.serialNumber;

  /** Puts a certificate in place the way certificate managers do: write aside, then rename over. */
  const replaceWith = (source: CertFiles) => {
    copyFileSync(source.key, `${served.key}.new`);
    copyFileSync(source.cert, `${served.cert}.new`);
    renameSync(`${served.key}.new`, served.key);
    renameSync(`${served.cert}.new`, served.cert);
  };

  before(async () => {
    ca = new TestCa();
    const first = ca.issue(['example.com'], { file: 'first' });
    served = { cert: join(ca.dir, 'served.crt'), key: join(ca.dir, 'served.key') };
    copyFileSync(first.cert, served.cert);
    copyFileSync(first.key, served.key);
    upstream = await startUpstream('a');
    edgelb = await startEdgelb({
      listen: [{ addr: '127.0.0.1:0', tls: served }],
      upstreams: { web: { peers: [upstream.address] } },
    });
  });
  after(killAll);

  it('serves a replaced certificate without a restart', async () => {
    const initial = await servedSerial();
    const second = ca.issue(['example.com'], { file: 'second' });
    replaceWith(second);
    const serial = await waitFor('the new certificate to be served', async () => {
      const now = await servedSerial();
      return now !== initial && now;
    });
    const { X509Certificate } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    assert.equal(serial, new X509Certificate(readFileSync(second.cert)).serialNumber);
    // Clients that send no server name get the server's own context, which is replaced too.
    assert.equal((await handshake(edgelb.port)).certificate.serialNumber, serial);
    await waitFor('the reload log line', () => edgelb.logs.find((l) => l.msg === 'certificate reloaded'));
  });

  it('keeps the old certificate when the new files are broken, and says so', async () => {
    const before = await servedSerial();
    writeFileSync(`${served.cert}.new`, 'not a certificate\n');
    renameSync(`${served.cert}.new`, served.cert);
    const line = await waitFor('the failed reload log line', () => edgelb.logs.find((l) =>
      l.msg === 'certificate reload failed; the old certificate keeps serving' && /is not a PEM certificate/.test(String(l.reason))));
    assert.equal(line.key, 'listen.0.tls');
    assert.match(String(line.reason), /^listen\.0\.tls\.cert: .*served\.crt is not a PEM certificate$/);
    assert.equal(await servedSerial(), before);
    const reply = await run('curl', ['-sS', '--cacert', ca.cert, '--resolve', `example.com:${edgelb.port}:127.0.0.1`, `https://example.com:${edgelb.port}/still`]);
    assert.equal((JSON.parse(reply.stdout) as Echo).url, '/still');
  });

  it('reloads on SIGHUP (a config reload: new workers read the certificates afresh)', async () => {
    const third = ca.issue(['example.com'], { file: 'third' });
    replaceWith(third);
    edgelb.process.kill('SIGHUP');
    await waitFor('the reload', () => edgelb.logs.find((l) => l.msg === 'configuration reloaded'));
    const { X509Certificate } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    const expected = new X509Certificate(readFileSync(third.cert)).serialNumber;
    await waitFor('the new certificate to be served', async () => (await servedSerial()) === expected);
    assert.equal(edgelb.process.exitCode, null);
  });
});

describe('graceful shutdown with HTTP/2 clients', () => {
  after(killAll);

  it('sends GOAWAY, finishes the streams in flight and exits', async () => {
    const ca = new TestCa();
    const example = ca.issue(['example.com']);
    const upstream = await startUpstream('a');
    const edgelb = await startEdgelb({
      listen: [{ addr: '127.0.0.1:0', tls: example, h2: true }],
      upstreams: { web: { peers: [upstream.address] } },
      grace_period_seconds: 10,
    });
    const session = await h2Session(edgelb.port, ca.cert);
    const goaway = new Promise((resolve) => session.once('goaway', resolve));
    const inFlight = h2Request(session, { ':method': 'GET', ':path': '/slow?ms=800' });
    await waitFor('the request to reach the upstream', async () => (await upstream.stats()).slowPending === 1);
    edgelb.process.kill('SIGTERM');
    await goaway;
    const reply = await inFlight;
    assert.equal(reply.headers[':status'], 200);
    assert.equal(reply.body.toString(), 'a slow\n');
    assert.equal(await edgelb.exited, 0);
    assert.ok(!edgelb.logs.some((l) => l.msg === 'grace period over; remaining connections were closed'));
  });

  it('cuts HTTP/2 connections still busy when the grace period ends', async () => {
    const ca = new TestCa();
    const upstream = await startUpstream('a');
    const edgelb = await startEdgelb({
      listen: [{ addr: '127.0.0.1:0', tls: ca.issue(['example.com']), h2: true }],
      upstreams: { web: { peers: [upstream.address] } },
      grace_period_seconds: 0.5,
    });
    const session = await h2Session(edgelb.port, ca.cert);
    session.on('error', () => {});
    const inFlight = h2Request(session, { ':method': 'GET', ':path': '/slow?ms=20000' });
    await waitFor('the request to reach the upstream', async () => (await upstream.stats()).slowPending === 1);
    const cut = assert.rejects(inFlight, /the stream was cut/);
    edgelb.process.kill('SIGTERM');
    assert.equal(await edgelb.exited, 0);
    await cut;
    assert.ok(edgelb.logs.some((l) => l.msg === 'grace period over; remaining connections were closed'));
  });
});
