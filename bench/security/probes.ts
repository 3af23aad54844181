/**
 * Hostile-client probes against edgelb, nginx and HAProxy, each in front of its own counting
 * backend on 127.0.0.1, in one run of about a minute and a half (six at most). Prints Markdown
 * tables; docs/SECURITY.md explains them.
 *
 *   npx node bench/security/probes.ts [--working-tree] [--json FILE] [--logs DIR]
 *
 * edgelb is compiled from the commit at HEAD; `--working-tree` compiles the files as they are.
 * `--json` writes every result and the three configs; `--logs` keeps each proxy's output.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { HAPROXY } from '../rig/haproxy.ts';
import { NGINX } from '../rig/nginx.ts';
import { freePorts } from '../rig/ports.ts';
import { killAllProcessesNow, stopAllProcesses } from '../rig/processes.ts';
import { Backend } from './backend.ts';
import { excessStreams, invalidField, INVALID_H2_FIELDS } from './h2-cases.ts';
import { pipelining, probe, slowloris, SMUGGLING, stillServes, TARGETS, tlsStall, upstreamOverflow, type ProbeResult } from './http1-probes.ts';
import { buildEdgelbForProbes, startEdgelb, startHaproxyProxy, startNginxProxy, type Proxy } from './proxies.ts';
import { renderTables, type ProxyResults } from './report.ts';
import { makeSelfSignedCert } from './tls-cert.ts';

/** The whole run gives up after this, whatever is still waiting. */
const BUDGET_MS = 6 * 60_000;
/** The longest a slow client is held before the probe reports "open ≥ …". */
const HOLD_CAP_MS = 90_000;

const repoRoot = resolve(import.meta.dirname, '..', '..');
const args = process.argv.slice(2);
const workingTree = args.includes('--working-tree');
const option = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const jsonOut = option('--json');
const logDir = option('--logs');
/** The run's temporary directory, removed however the run ends. */
let scratch: string | undefined;
const log = (message: string): void => void process.stderr.write(`[probes] ${message}\n`);

function versionOf(command: string, argv: string[]): string {
  // nginx prints its version on stderr, HAProxy on stdout.
  const { stdout, stderr } = spawnSync(command, argv, { encoding: 'utf8' });
  return `${stdout ?? ''}${stderr ?? ''}`.trim().split('\n')[0] ?? command;
}

/** Copies a proxy's whole output into DIR/NAME.log, to read what it said about each probe. */
async function keepLog(proxy: Proxy, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = createWriteStream(join(dir, `${proxy.name}.log`));
  proxy.proc.child.stdout?.pipe(file);
  proxy.proc.child.stderr?.pipe(file);
}

async function probeAll(proxy: Proxy, texts: readonly (readonly [string, string])[]): Promise<Record<string, ProbeResult>> {
  const results: Record<string, ProbeResult> = {};
  for (const [name, text] of texts) results[name] = await probe(proxy.port, proxy.backend, text);
  return results;
}

async function run(): Promise<void> {
  const started = performance.now();
  const dir = (scratch = await mkdtemp(join(tmpdir(), 'edgelb-security-')));
  const backends: Backend[] = [];
  try {
    const commit = execFileSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    for (const binary of [NGINX, HAPROXY]) if (!existsSync(binary)) throw new Error(`${binary} is missing (Debian: apt-get install nginx haproxy)`);
    const versions = {
      edgelb: `edgelb ${workingTree ? `${commit} + working tree` : commit}`,
      nginx: versionOf(NGINX, ['-v']).replace('nginx version: ', ''),
      HAProxy: versionOf(HAPROXY, ['-v']).replace(/^HAProxy version (\S+).*/, 'HAProxy $1'),
    };
    log(`${versions.edgelb}, ${versions.nginx}, ${versions.HAProxy}; scratch in ${dir}`);
    const [cert, bin] = await Promise.all([makeSelfSignedCert(dir), buildEdgelbForProbes(repoRoot, dir, workingTree)]);
    for (let i = 0; i < 3; i++) backends.push(await Backend.start());
    const ports = await freePorts(6);
    const pair = (i: number) => ({ port: ports[2 * i]!, tlsPort: ports[2 * i + 1]! });
    const proxies = await Promise.all([
      startEdgelb(bin, join(dir, 'edgelb'), pair(0), backends[0]!, cert),
      startNginxProxy(join(dir, 'nginx'), pair(1), backends[1]!, cert),
      startHaproxyProxy(join(dir, 'haproxy'), pair(2), backends[2]!, cert),
    ]);
    if (logDir !== undefined) await Promise.all(proxies.map((proxy) => keepLog(proxy, logDir)));
    const pidsBefore = proxies.map((proxy) => proxy.servingPids());
    log(`all three serving after ${((performance.now() - started) / 1000).toFixed(0)} s`);

    // The long waits first, all proxies and all three probes at once: nothing in them reaches a
    // backend except the pipelined requests, so the counts stay each probe's own.
    log(`pipelining, slowloris and TLS stalls (up to ${HOLD_CAP_MS / 1000} s)`);
    const slow = await Promise.all(proxies.map(async (proxy) => {
      const [pipelined, loris, stall] = await Promise.all([
        pipelining(proxy.port, proxy.backend),
        slowloris(proxy.port, { capMs: HOLD_CAP_MS }),
        tlsStall(proxy.tlsPort, { capMs: HOLD_CAP_MS }),
      ]);
      return { pipelined, loris, stall };
    }));

    log('smuggling corpus, targets, upstream overflow, HTTP/2');
    const results: ProxyResults[] = await Promise.all(proxies.map(async (proxy, i): Promise<ProxyResults> => {
      const smuggling = await probeAll(proxy, SMUGGLING);
      const targets = await probeAll(proxy, TARGETS);
      const overflow = await upstreamOverflow(proxy.port, false);
      const overflowSplit = await upstreamOverflow(proxy.port, true);
      const h2Excess = await excessStreams(proxy.tlsPort, proxy.backend, false);
      const h2ExcessAfterSettings = await excessStreams(proxy.tlsPort, proxy.backend, true);
      const h2Invalid: ProxyResults['h2Invalid'] = {};
      for (const [index, [label]] of INVALID_H2_FIELDS.entries()) h2Invalid[label] = await invalidField(proxy.tlsPort, proxy.backend, index);
      const serves = await stillServes(proxy.port);
      return {
        name: proxy.name,
        version: versions[proxy.name as keyof typeof versions],
        pipelining: slow[i]!.pipelined,
        slowloris: slow[i]!.loris,
        tlsStall: slow[i]!.stall,
        smuggling,
        targets,
        overflow,
        overflowSplit,
        h2Excess,
        h2ExcessAfterSettings,
        h2Invalid,
        aftermath: { serves, pidsBefore: pidsBefore[i]!, pidsAfter: proxy.servingPids(), alarms: proxy.alarms },
      };
    }));

    const date = new Date().toISOString().slice(0, 10);
    process.stdout.write(`Run of ${date}, commit ${commit}${workingTree ? ' (+ working tree)' : ''}, ${((performance.now() - started) / 1000).toFixed(0)} s.\n\n${renderTables(results)}\n`);
    if (jsonOut !== undefined) {
      await writeFile(jsonOut, JSON.stringify({ date, commit, workingTree, results, configs: Object.fromEntries(proxies.map((p) => [p.name, p.config])) }, null, 2));
    }
  } finally {
    await stopAllProcesses();
    await Promise.all(backends.map((backend) => backend.close()));
    await rm(dir, { recursive: true, force: true });
  }
}

// Every wait inside is capped; this is the cap on all of them together.
const budget = setTimeout(() => {
  log(`over the ${BUDGET_MS / 60_000} min budget: giving up`);
  killAllProcessesNow();
  process.exit(2);
}, BUDGET_MS);
budget.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllProcessesNow();
    process.exit(130);
  });
}
process.once('exit', () => {
  killAllProcessesNow();
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

try {
  await run();
} catch (error) {
  log(`failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
}
