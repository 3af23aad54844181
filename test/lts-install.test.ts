import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { killAll, startUpstream, type Upstream } from './support/processes.ts';
import { waitFor } from './support/wait-for.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const run = promisify(execFile);

/**
 * The oldest and newest maintained LTS lines, from npm's `node` package: Node 26 is the
 * devDependency, Node 22 is installed beside the project by `npm test`'s pretest step (a
 * devDependency of its own would take over `node_modules/.bin/node`).
 */
const NODES = { 'Node 22': join(root, '.cache/node22/node_modules/node/bin/node'), 'Node 26': join(root, 'node_modules/node/bin/node') };

/**
 * The package as npm publishes it: `npm pack` (which builds dist/ first), unpacked in a directory
 * of its own, with this checkout's dependencies beside it in place of an install from the registry.
 */
async function packedPackage(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-pack-'));
  const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: root, env: { ...process.env, PATH: `${join(root, 'node_modules/node/bin')}:${process.env.PATH}` } });
  const tarball = join(dir, stdout.trim().split('\n').at(-1)!);
  await run('tar', ['xzf', tarball, '-C', dir]);
  symlinkSync(join(root, 'node_modules'), join(dir, 'package', 'node_modules'), 'dir');
  return join(dir, 'package');
}

describe('the packed package on the LTS lines', { timeout: 240_000 }, () => {
  let pkg: string;
  let upstream: Upstream;
  before(async () => {
    for (const [line, node] of Object.entries(NODES)) {
      if (!existsSync(node)) throw new Error(`${line} is missing at ${node}: run npm test (its pretest step installs it) or npm run pretest`);
    }
    [pkg, upstream] = await Promise.all([packedPackage(), startUpstream('lts')]);
  });
  after(killAll);

  for (const [line, node] of Object.entries(NODES)) {
    it(`runs -h, -t and serves a request on ${line}`, async () => {
      const bin = join(pkg, 'bin', 'edgelb.js');
      const help = await run(node, [bin, '-h']);
      assert.match(help.stdout, /Usage:/);
      const dir = mkdtempSync(join(tmpdir(), 'edgelb-lts-'));
      const config = join(dir, 'edgelb.yaml');
      writeFileSync(config, stringify({ listen: ['127.0.0.1:0'], pid_file: join(dir, 'edgelb.pid'), upstreams: { web: { peers: [upstream.address] } } }));
      const checked = await run(node, [bin, '-t', '-c', config]);
      assert.match(checked.stdout + checked.stderr, /is valid/);

      const child = spawn(node, [bin, '-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      try {
        const lines: string[] = [];
        createInterface({ input: child.stderr! }).on('line', (text) => lines.push(text));
        const serving = await waitFor('edgelb to serve', () => lines.map((text) => JSON.parse(text) as { msg: string; listen?: string[] }).find((entry) => entry.msg === 'edgelb is serving'), { timeoutMs: 20_000 });
        const res = await fetch(`http://${serving.listen![0]}/lts`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-upstream'), 'lts');
        await res.text();
      } finally {
        child.kill('SIGTERM');
      }
    });
  }

  it('says what to do on a Node older than 22', async () => {
    const old = await run(process.platform === 'linux' ? '/usr/bin/node' : 'node', ['--version']).catch(() => undefined);
    const major = Number(old?.stdout.trim().replace(/^v/, '').split('.')[0]);
    if (!(major < 22)) return assert.fail(`the system Node (${old?.stdout.trim() ?? 'none'}) is not older than 22; this test needs one`);
    const failed = await run('/usr/bin/node', [join(pkg, 'bin', 'edgelb.js'), '-h']).then(() => undefined, (error: { code: number; stderr: string }) => error);
    assert.equal(failed?.code, 1);
    assert.match(failed!.stderr, /edgelb needs Node\.js 22 or later .*install a maintained LTS release/);
  });
});
