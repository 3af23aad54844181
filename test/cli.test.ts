import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runEdgelb } from './support/processes.ts';

function configFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'edgelb-cli-')), 'edgelb.yaml');
  writeFileSync(file, text);
  return file;
}

describe('command line', () => {
  it('-h lists every flag', async () => {
    const { code, stdout } = await runEdgelb(['-h']);
    assert.equal(code, 0);
    for (const flag of ['-c, --conf', '-d, --daemon', '-u, --upgrade', '-t, --test', '-h, --help', '-V, --version']) {
      assert.ok(stdout.includes(flag), `help mentions ${flag}`);
    }
  });

  it('-t accepts the documented config, including the example file', async () => {
    const documented = configFile(`
version: 1
threads: 2
pid_file: /tmp/edgelb.pid
error_log: /tmp/edgelb_err.log
upgrade_sock: /tmp/edgelb.sock
grace_period_seconds: 30
listen:
  - 0.0.0.0:8080
upstreams:
  default:
    peers: [10.0.0.1:8080, 10.0.0.2:8080, 10.0.0.3:8080]
    selection: round_robin
    host: example.com
    tls: false
    health_check: { type: tcp, interval: 1s, timeout: 1s, rise: 1, fall: 1 }
`);
    for (const file of [documented, 'examples/demo.yaml']) {
      const { code, stdout, stderr } = await runEdgelb(['-t', '-c', file]);
      assert.equal(code, 0, stderr);
      assert.match(stdout, /is valid/);
    }
  });

  it('-t rejects a bad config with one line per problem naming the key', async () => {
    const { code, stderr } = await runEdgelb(['-t', '-c', configFile(`
version: 1
listen: [ "0.0.0.0:http" ]
upstreams:
  web:
    peers: []
    health_check: { interval: sometimes, timeout: -1 }
  api:
    peers: ["10.0.0.1"]
    retry: 3
`)]);
    assert.equal(code, 1);
    const lines = stderr.trim().split('\n').slice(1).map((line) => line.trim());
    assert.deepEqual(lines.sort(), [
      'listen.0.addr: "0.0.0.0:http" is not host:port (IPv6 as [::1]:8080)',
      'upstreams.api.peers.0: "10.0.0.1" is not host:port (IPv6 as [::1]:8080)',
      'upstreams.api.retry: unknown key',
      'upstreams.web.health_check.interval: "sometimes" is not a duration (use e.g. "1s", "500ms", "2m")',
      'upstreams.web.health_check.timeout: expected a non-negative number of seconds, got -1',
      'upstreams.web.peers: a pool needs at least one peer',
    ]);
  });

  it('-t names the file when YAML aliases would expand without bound', async () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [i, name] of ['b', 'c', 'd', 'e', 'f'].entries()) levels.push(`${name}: &${name} [${Array(9).fill(`*${'abcde'[i]}`).join(', ')}]`);
    const file = configFile(`${levels.join('\n')}\nupstreams: *f\n`);
    const result = await runEdgelb(['-t', '-c', file]);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `edgelb: ${file}: invalid config\n  YAML: Excessive alias count indicates a resource exhaustion attack\n`);
  });

  it('-t refuses a host name as a listen address, naming the key', async () => {
    const result = await runEdgelb(['-t', '-c', configFile('listen: ["app.example:8080"]\nadmin: { listen: "admin.example:9900", token: "0123456789abcdef" }\nupstreams:\n  web:\n    peers: ["127.0.0.1:9"]\n')]);
    assert.equal(result.code, 1);
    assert.deepEqual(result.stderr.trim().split('\n').slice(1).map((line) => line.trim()), [
      'listen.0.addr: must be an IP address or localhost, not a host name',
      'admin.listen: must be an IP address or localhost, not a host name',
    ]);
  });

  it('-t rejects a keepalive_timeout of 0, naming the key', async () => {
    const result = await runEdgelb(['-t', '-c', configFile('upstreams:\n  web:\n    peers: ["127.0.0.1:9"]\n    keepalive_timeout: 0\n')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /upstreams\.web\.keepalive_timeout.*greater than 0/);
  });

  it('-t reports YAML syntax errors and missing files', async () => {
    const broken = await runEdgelb(['-t', '-c', configFile('upstreams: [unclosed\n')]);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /YAML/);
    const missing = await runEdgelb(['-t', '-c', '/nonexistent/edgelb.yaml']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ENOENT/);
  });

  it('rejects unknown flags with a usage hint', async () => {
    const { code, stderr } = await runEdgelb(['--frobnicate']);
    assert.equal(code, 2);
    assert.match(stderr, /--help/);
  });

  it('exits non-zero with the reason when a listener cannot bind', async () => {
    const { createServer } = await import('node:net');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const { code, stderr } = await runEdgelb(['-c', configFile(`
listen: ["127.0.0.1:${port}"]
upstreams: { web: { peers: ["127.0.0.1:1"] } }
`)]);
      assert.equal(code, 1);
      assert.match(stderr, /EADDRINUSE/);
    } finally {
      taken.close();
    }
  });
});
