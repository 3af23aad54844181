import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestCa, type CertFiles } from './support/certs.ts';
import { get } from './support/http.ts';
import { killAll, startEdgelb } from './support/processes.ts';
import { killTlsUpstreams, startTlsUpstream } from './support/tls.ts';
import { waitFor } from './support/wait-for.ts';

interface TlsEcho {
  name: string;
  servername: string | null;
  url: string;
  rawHeaders: string[];
}

describe('TLS to upstreams', () => {
  let ca: TestCa;
  let good: CertFiles;
  let expired: CertFiles;
  let wrongName: CertFiles;
  const upstreams = { good: '', expired: '', wrongName: '' };

  before(async () => {
    ca = new TestCa();
    good = ca.issue(['example.com']);
    expired = ca.issue(['example.com'], { days: -1, file: 'expired' });
    wrongName = ca.issue(['wrong.test']);
    for (const [name, cert] of [['good', good], ['expired', expired], ['wrongName', wrongName]] as const) {
      upstreams[name] = (await startTlsUpstream(name, cert)).address;
    }
  });
  after(() => {
    killAll();
    killTlsUpstreams();
  });

  it('connects over TLS with the pool host as SNI, verified against ca_file', async () => {
    const edgelb = await startEdgelb({
      upstreams: { web: { peers: [upstreams.good], host: 'example.com', tls: true, ca_file: ca.cert } },
    });
    const reply = await get(`${edgelb.url}/over-tls`, { host: 'client.test' });
    assert.equal(reply.status, 200);
    const echo = JSON.parse(reply.body) as TlsEcho;
    assert.equal(echo.servername, 'example.com');
    assert.equal(echo.url, '/over-tls');
  });

  it('without a pool host, sends the peer\'s name as SNI, whatever Host the client sends', async () => {
    const edgelb = await startEdgelb({
      upstreams: { web: { peers: [upstreams.good.replace('127.0.0.1', 'localhost')], tls: true, tls_verify: false } },
    });
    const first = JSON.parse((await get(edgelb.url, { host: 'one.test' })).body) as TlsEcho;
    const second = JSON.parse((await get(edgelb.url, { host: 'two.test' })).body) as TlsEcho;
    assert.equal(first.servername, 'localhost');
    assert.equal(second.servername, 'localhost');
  });

  it('sends no SNI to an IP peer without a pool host, and checks the certificate for that IP', async () => {
    const byIp = await startTlsUpstream('by-ip', ca.issue(['127.0.0.1'], { file: 'by-ip' }));
    const edgelb = await startEdgelb({ upstreams: { web: { peers: [byIp.address], tls: true, ca_file: ca.cert } } });
    const reply = await get(edgelb.url, { host: 'client.test' });
    assert.equal(reply.status, 200);
    assert.equal((JSON.parse(reply.body) as TlsEcho).servername, null);
  });

  for (const [peer, code] of [['expired', 'CERT_HAS_EXPIRED'], ['wrongName', 'ERR_TLS_CERT_ALTNAME_INVALID']] as const) {
    it(`refuses a peer whose certificate fails verification (${peer}): 502 and a log line`, async () => {
      const edgelb = await startEdgelb({
        upstreams: { web: { peers: [upstreams[peer]], host: 'example.com', tls: true, ca_file: ca.cert } },
      });
      const reply = await get(edgelb.url);
      assert.equal(reply.status, 502);
      assert.match(reply.body, /TLS certificate failed verification/);
      const line = await waitFor('the failure log line', () => edgelb.logs.find((l) => l.msg === 'request failed'));
      assert.match(String(line.reason), new RegExp(code));
    });
  }

  it('refuses a peer signed by a CA it was not told to trust', async () => {
    const edgelb = await startEdgelb({ upstreams: { web: { peers: [upstreams.good], host: 'example.com', tls: true } } });
    const reply = await get(edgelb.url);
    assert.equal(reply.status, 502);
  });

  it('skips verification only when told to (tls_verify: false)', async () => {
    const edgelb = await startEdgelb({
      upstreams: { web: { peers: [upstreams.wrongName], host: 'example.com', tls: true, tls_verify: false } },
    });
    const reply = await get(edgelb.url);
    assert.equal(reply.status, 200);
    assert.equal((JSON.parse(reply.body) as TlsEcho).name, 'wrongName');
  });

  it('runs HTTP health checks over TLS with the same verification', async () => {
    const edgelb = await startEdgelb({
      upstreams: {
        good: { peers: [upstreams.good], host: 'example.com', tls: true, ca_file: ca.cert, health_check: { type: 'http', path: '/health' } },
        bad: { peers: [upstreams.wrongName], host: 'example.com', tls: true, ca_file: ca.cert, health_check: { type: 'http' } },
      },
    });
    assert.equal((await get(edgelb.url)).status, 200);
    const down = await waitFor('the wrong-name peer to be down', () => edgelb.logs.find((l) => l.msg === 'peer down'));
    assert.equal(down.pool, 'bad');
    assert.match(String(down.reason), /ERR_TLS_CERT_ALTNAME_INVALID/);
    assert.ok(!edgelb.logs.some((l) => l.msg === 'peer down' && l.pool === 'good'));
  });
});
