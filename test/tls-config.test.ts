import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { TestCa, type CertFiles } from './support/certs.ts';
import { runEdgelb } from './support/processes.ts';

function configFile(text: string, dir = mkdtempSync(join(tmpdir(), 'edgelb-cli-'))): string {
  const file = join(dir, 'edgelb.yaml');
  writeFileSync(file, text);
  return file;
}

/** The problem lines of a failed `-t`, trimmed and sorted. */
async function problems(file: string): Promise<string[]> {
  const { code, stderr } = await runEdgelb(['-t', '-c', file]);
  assert.equal(code, 1, stderr);
  return stderr.trim().split('\n').slice(1).map((line) => line.trim()).sort();
}

describe('-t and TLS settings', () => {
  let ca: TestCa;
  let example: CertFiles;
  let other: CertFiles;

  before(() => {
    ca = new TestCa();
    example = ca.issue(['example.com']);
    other = ca.issue(['other.test']);
  });

  it('accepts TLS listeners and TLS pools whose files are in order, relative paths from the config file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelb-cli-'));
    copyFileSync(example.cert, join(dir, 'example.com.crt'));
    copyFileSync(example.key, join(dir, 'example.com.key'));
    const file = configFile(`
listen:
  - 0.0.0.0:8080
  - addr: 0.0.0.0:8443
    tls: { cert: example.com.crt, key: example.com.key, certs: [{ cert: ${other.cert}, key: ${other.key} }] }
    h2: true
upstreams:
  default:
    peers: [10.0.0.1:443]
    host: example.com
    tls: true
    ca_file: ${ca.cert}
`, dir);
    const { code, stdout, stderr } = await runEdgelb(['-t', '-c', file]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /is valid/);
  });

  it('names the key of a missing, unparsable or mismatched certificate or key file', async () => {
    const garbage = join(ca.dir, 'garbage.pem');
    writeFileSync(garbage, 'not pem\n');
    assert.deepEqual(await problems(configFile(`
listen:
  - addr: 127.0.0.1:8443
    tls: { cert: /nonexistent/example.com.crt, key: ${example.key} }
  - addr: 127.0.0.1:8444
    tls: { cert: ${example.cert}, key: ${other.key} }
  - addr: 127.0.0.1:8445
    tls: { certs: [{ cert: ${example.cert}, key: ${example.key} }, { cert: ${garbage}, key: ${other.key} }] }
upstreams:
  web: { peers: [10.0.0.1:443], tls: true, ca_file: /nonexistent/ca.crt }
`)), [
      'listen.0.tls.cert: cannot read /nonexistent/example.com.crt: ENOENT',
      `listen.1.tls.key: ${other.key} does not match the certificate ${example.cert}`,
      `listen.2.tls.certs.1.cert: ${garbage} is not a PEM certificate`,
      'upstreams.web.ca_file: cannot read /nonexistent/ca.crt: ENOENT',
    ]);
  });

  it('rejects TLS settings that do not fit together', async () => {
    assert.deepEqual(await problems(configFile(`
listen:
  - { addr: 127.0.0.1:8080, h2: true }
  - { addr: 127.0.0.1:8443, tls: { cert: ${example.cert} } }
  - { addr: 127.0.0.1:8444, tls: {} }
upstreams:
  web: { peers: [10.0.0.1:80], ca_file: ${ca.cert}, tls_verify: false }
`)), [
      'listen.0.h2: needs tls (HTTP/2 is offered by ALPN on TLS listeners)',
      'listen.1.tls.key: cert and key go together',
      'listen.2.tls: needs cert and key, or certs',
      'upstreams.web.ca_file: only with tls: true',
      'upstreams.web.tls_verify: only with tls: true',
    ]);
  });

  it('does not start with a certificate it cannot use', async () => {
    const { code, stderr } = await runEdgelb(['-c', configFile(`
listen: [{ addr: 127.0.0.1:0, tls: { cert: ${example.cert}, key: /nonexistent/key.pem } }]
upstreams: { web: { peers: [127.0.0.1:1] } }
`)]);
    assert.equal(code, 1);
    assert.match(stderr, /listen\.0\.tls\.key: cannot read \/nonexistent\/key\.pem: ENOENT/);
  });
});
