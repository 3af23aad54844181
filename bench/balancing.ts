/**
 * Beyond round robin: edgelb's selections and passive health next to nginx's and HAProxy's, in
 * front of the same three upstreams, one of which misbehaves. One run of about five minutes.
 *
 *   npx node bench/balancing.ts [--rate 400] [--seconds 10] [--connections 32] [--rounds 1]
 *                               [--warmup 3] [--out /tmp/balancing-section.md]
 *                               [--worktree | --edgelb FILE] [--only IDS]
 *
 * Upstreams: bench/balancing/upstreams.ts, three Node HTTP servers (peers a, b, c) in one Node
 * process of their own (not pinned), set per scenario over a control port:
 *   A "one slow peer":    a and b answer after 1 ms, c after 20 ms;
 *   B "one failing peer": all after 1 ms, c answers 500 to a random 30 % of requests;
 *   C "well again":       all after 1 ms, 5 s, only for the systems that remember a peer's past.
 * Systems, each one process pinned to CPU 1 (see bench/balancing/systems.ts): edgelb with
 * round_robin, least_request, least_request + outlier_detection, random (A only), ewma, and
 * least_request or ewma with outlier_detection + retry_on 500 (each only if this edgelb accepts
 * its config); nginx round robin and least_conn + max_fails + proxy_next_upstream http_500; HAProxy
 * roundrobin and leastconn + observe layer7. All keep their upstream connections alive. Two
 * references, left out of the rankings: the bare node:http + undici proxy, and no proxy at all.
 * Load: bench/balancing/open-loop.ts pinned to CPU 0, `--rate` requests/s for `--seconds` over
 * `--connections` keep-alive connections, open loop, latency from each request's scheduled time.
 * CPU: utime + stime of each serving process over each run; the selection alone is timed by
 * bench/balancing/selection-cost.ts before and after the runs (also a check of the machine).
 *
 * edgelb is built from the commit checked out (HEAD, `git archive`), compiled as its package
 * runs (bench/rig/edgelb-build.ts); `--worktree` builds the working tree instead, `--edgelb`
 * runs a given entry point. The results section is written to `--out`; its "Reading" is left to
 * be written by hand (the "Rankings and checks" under it are computed).
 */
import { spawnSync } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { RunCommand, RunResult } from './balancing/open-loop.ts';
import {
  edgelbConfig, edgelbVariant, haproxyBalancingConfig, nginxConfig, RETRY_ON, SYSTEMS, systemOf, type SystemSpec,
} from './balancing/systems.ts';
import { buildEdgelb } from './rig/edgelb-build.ts';
import { HAPROXY, startHaproxy } from './rig/haproxy.ts';
import { httpGet, waitForOk } from './rig/http.ts';
import { describeMachine, loadAverage } from './rig/machine.ts';
import { NGINX, startNginx } from './rig/nginx.ts';
import { freePorts } from './rig/ports.ts';
import { boundedRun } from './rig/bounded-run.ts';
import { startProcess, type Proc } from './rig/processes.ts';
import { wholeNumber } from './rig/whole-number.ts';
import { sleep } from './rig/wait.ts';
import { percentile } from './stats.ts';
import { LoaderProcess } from './rig/loader-process.ts';
import { cpuMicros } from './rig/cpu-time.ts';
import { servingChild } from './rig/serving-child.ts';

const PROXY_CPUS = '1';
const LOADER_CPUS = '0';
const READY_TIMEOUT_MS = 10_000;
const PEERS = ['a', 'b', 'c'] as const;
/** Quiet time before each run, so the last run's slow answers are over. */
const PAUSE_MS = 1000;
const IDLE_S = 5;

interface Behaviour { delayMs: number; failShare: number }
interface Scenario {
  id: 'A' | 'B' | 'C';
  title: string;
  peers: [Behaviour, Behaviour, Behaviour];
  /** Systems not run in this scenario. */
  without: readonly string[];
  /** Only these systems (instead of `without`). */
  only?: readonly string[];
  /** Length of each run, when not `--seconds`. */
  seconds?: number;
}

/** The systems that remember a peer's past (passive health, latency), checked again after B. */
const WITH_MEMORY = ['nginx-lc', 'haproxy-lc', 'edgelb-lr-od', 'edgelb-ewma', 'edgelb-lr-od-retry', 'edgelb-ewma-od-retry'];
const RECOVERY_S = 5;

const NEUTRAL: Scenario['peers'] = [{ delayMs: 1, failShare: 0 }, { delayMs: 1, failShare: 0 }, { delayMs: 1, failShare: 0 }];
const SCENARIOS: readonly Scenario[] = [
  {
    id: 'A', title: 'one slow peer: a and b answer in 1 ms, c in 20 ms',
    peers: [{ delayMs: 1, failShare: 0 }, { delayMs: 1, failShare: 0 }, { delayMs: 20, failShare: 0 }],
    // Every system that runs in B runs here too, so that none comes to B with a colder JIT.
    without: [],
  },
  {
    id: 'B', title: 'one failing peer: all answer in 1 ms, c answers 500 to 30 % of requests (at random)',
    peers: [{ delayMs: 1, failShare: 0 }, { delayMs: 1, failShare: 0 }, { delayMs: 1, failShare: 0.3 }],
    without: ['edgelb-random'],
  },
  {
    id: 'C', title: 'after B, all peers healthy again (1 ms, no 500s)',
    peers: [{ delayMs: 1, failShare: 0 }, { delayMs: 1, failShare: 0 }, { delayMs: 1, failShare: 0 }],
    without: [], only: WITH_MEMORY, seconds: RECOVERY_S,
  },
];

/** The systems this run has: edgelb's only if the edgelb under test accepts their config. */
let active: SystemSpec[] = [...SYSTEMS];
const only = (): string[] | undefined => values.only?.split(',').map((id) => id.trim());
const systemsOf = (scenario: Scenario): string[] =>
  active.filter((s) => (scenario.only ? scenario.only.includes(s.id) : !scenario.without.includes(s.id))).map((s) => s.id);

// ---- processes and readings --------------------------------------------------------------------

function log(message: string): void {
  process.stderr.write(`[balancing] ${message}\n`);
}



/** The load generator: bench/balancing/open-loop.ts, on its own CPU. */
class Loader extends LoaderProcess {
  constructor(script: string) {
    super(LOADER_CPUS, [script]);
  }
}

interface LogLine { system: string; at: number; text: string }

/** Every line a proxy writes, time-stamped, so a run can count its ejections and mark-downs. */
function watchOutput(id: string, proc: Proc, into: LogLine[]): void {
  for (const stream of [proc.child.stdout, proc.child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (text) => into.push({ system: id, at: Date.now(), text }));
  }
}

/** A peer leaving the rotation (down) or coming back (up), as each proxy logs it. */
function classify(line: LogLine, kind: SystemSpec['kind']): 'down' | 'up' | 'other' | undefined {
  const t = line.text;
  if (kind === 'edgelb') {
    if (t.includes('"peer ejected"')) return 'down';
    if (t.includes('"peer back from ejection"')) return 'up';
    return /"level":(40|50|60)/.test(t) ? 'other' : undefined;
  }
  if (kind === 'node' || kind === 'direct') return undefined;
  if (kind === 'nginx') return t.includes('upstream server temporarily disabled') ? 'down' : /\[(warn|error|crit|alert|emerg)\]/.test(t) ? 'other' : undefined;
  if (/ is DOWN/.test(t)) return 'down';
  if (/ is UP/.test(t)) return 'up';
  return /WARNING|ALERT/.test(t) ? 'other' : undefined;
}

// ---- the run -----------------------------------------------------------------------------------

interface Outcome {
  scenario: Scenario['id'];
  system: string;
  round: number;
  result: RunResult;
  proxyCpuUs: number;
  upstreamCpuUs: number;
  loaderCpuUs: number;
  wallUs: number;
  /** Requests each peer received (retries included), and the 500s among them. */
  upstream: { requests: number; failed: number; connections: number }[];
  down: number;
  up: number;
  /** Down/up events, seconds into the run. */
  events: string[];
  otherLines: string[];
  /** Date.now() at the start of the run. */
  startedAt: number;
}

const USAGE = `usage: npx node bench/balancing.ts [--rate R] [--seconds S] [--connections N] [--rounds N] [--warmup S] [--out FILE] [--worktree | --edgelb FILE] [--only IDS]

  --rate R         requests per second, open loop                      (default 400)
  --seconds S      length of each measured run                         (default 10)
  --connections N  keep-alive connections of the load generator         (default 32)
  --rounds N       runs per system and scenario, interleaved            (default 1)
  --warmup S       unmeasured run per system before the scenarios       (default 3)
  --out FILE       where the results section goes (FILE.jsonl: the raw runs) (default /tmp/balancing-section.md)
  --worktree       build edgelb from the working tree, not from HEAD
  --edgelb FILE    edgelb entry point to run instead of a build
  --only IDS       run only these systems (comma-separated ids, e.g. edgelb-rr,nginx-rr)`;

const repoRoot = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '400' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '3' },
    out: { type: 'string', default: '/tmp/balancing-section.md' },
    worktree: { type: 'boolean', default: false },
    edgelb: { type: 'string' },
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const options = {
  rate: wholeNumber('rate', values.rate, 1, USAGE),
  seconds: wholeNumber('seconds', values.seconds, 1, USAGE),
  connections: wholeNumber('connections', values.connections, 1, USAGE),
  rounds: wholeNumber('rounds', values.rounds, 1, USAGE),
  warmup: wholeNumber('warmup', values.warmup, 0, USAGE),
};

let loader: Loader | undefined;
let runDir: string | undefined;
process.on('exit', () => loader?.kill());
const runSeconds = options.rounds * SCENARIOS.reduce((n, s) => n + (s.only?.length ?? SYSTEMS.length - s.without.length) * ((s.seconds ?? options.seconds) + 12), 0);
// Each run is bounded on its own (the generator's 5 s drain); this is for a run that goes wrong at every step.
const budgetS = 90 + SYSTEMS.length * (options.warmup + 8) + IDLE_S + runSeconds;

async function checkoutHead(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tar = join(dir, '..', 'head.tar');
  const archive = spawnSync('git', ['-C', repoRoot, 'archive', '--format=tar', '-o', tar, 'HEAD', 'src', 'bin', 'package.json', 'tsconfig.json', 'tsconfig.build.json'], { encoding: 'utf8', timeout: 30_000 });
  if (archive.status !== 0) throw new Error(`git archive failed: ${archive.stderr}`);
  const untar = spawnSync('tar', ['-x', '-f', tar, '-C', dir], { encoding: 'utf8', timeout: 30_000 });
  if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr}`);
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
}

/** The selection alone (bench/balancing/selection-cost.ts), on the proxies' CPU while they are idle. */
function selectionCost(edgelbBin: string, when: string): Record<string, number | string> {
  const micro = spawnSync('taskset', ['-c', PROXY_CPUS, process.execPath, join(repoRoot, 'bench', 'balancing', 'selection-cost.ts'), join(dirname(edgelbBin), '..', 'dist')], { encoding: 'utf8', timeout: 60_000 });
  let result: Record<string, number | string>;
  try {
    result = JSON.parse(micro.stdout.trim().split('\n').pop() ?? '') as Record<string, number | string>;
  } catch {
    result = { error: `no answer (${micro.error?.message ?? micro.stderr.trim().slice(-200)})` };
  }
  log(`selection alone ${when}, ns per pick: ${JSON.stringify(result)}`);
  return result;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const machine = describeMachine(repoRoot);
  const loadAtStart = loadAverage();
  const commit = spawnSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
  runDir = await mkdtemp(join(tmpdir(), 'edgelb-balancing-'));

  let edgelbBin: string;
  let edgelbSource: string;
  if (values.edgelb !== undefined) {
    edgelbBin = resolve(values.edgelb);
    edgelbSource = `the entry point ${values.edgelb}`;
  } else if (values.worktree) {
    edgelbBin = await buildEdgelb(repoRoot, join(runDir, 'edgelb-package'));
    edgelbSource = `the working tree at ${machine.edgelb}`;
  } else {
    const checkout = join(runDir, 'checkout');
    await checkoutHead(checkout);
    edgelbBin = await buildEdgelb(checkout, join(runDir, 'edgelb-package'));
    edgelbSource = `commit ${commit} (HEAD, built from \`git archive\`)`;
  }

  // The upstreams.
  // They outlive a parent that dies only by so much; --rounds 3 runs longer than their default.
  const upstreamProc = startProcess('upstreams', process.execPath, [join(repoRoot, 'bench', 'balancing', 'upstreams.ts'), '--max-seconds', String(budgetS + 60)], { cwd: repoRoot });
  const { peers, control } = await new Promise<{ peers: number[]; control: number }>((resolvePorts, rejectPorts) => {
    const timer = setTimeout(() => rejectPorts(new Error(`the upstreams did not start: ${upstreamProc.output()}`)), READY_TIMEOUT_MS);
    createInterface({ input: upstreamProc.child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolvePorts(JSON.parse(line) as { peers: number[]; control: number });
    });
  });
  const controlGet = async <T>(path: string): Promise<T> => {
    const res = await httpGet(`http://127.0.0.1:${control}${path}`);
    if (res.status !== 200) throw new Error(`upstream control ${path}: ${res.status} ${res.body}`);
    return JSON.parse(res.body) as T;
  };
  const setPeers = async (behaviours: readonly Behaviour[]) => {
    for (const [i, b] of behaviours.entries()) await controlGet(`/set?peer=${i}&delay=${b.delayMs}&fail=${b.failShare}`);
  };
  const peerName = new Map(peers.map((port, i) => [`127.0.0.1:${port}`, PEERS[i]!]));

  // The systems, each on its own port, all pinned to the proxies' CPU.
  const ports = await freePorts(SYSTEMS.length);
  const procs = new Map<string, Proc>();
  const configs = new Map<string, string>();
  const lines: LogLine[] = [];
  const skipped: string[] = [];
  const wanted = only();
  if (wanted !== undefined) {
    const unknown = wanted.filter((id) => !SYSTEMS.some((s) => s.id === id));
    if (unknown.length > 0) throw new Error(`--only: no system ${unknown.join(', ')} (there are ${SYSTEMS.map((s) => s.id).join(', ')})`);
    active = active.filter((s) => wanted.includes(s.id));
  }
  for (const [i, spec] of SYSTEMS.entries()) {
    if (!active.includes(spec)) continue;
    const port = ports[i]!;
    const dir = join(runDir, spec.id);
    await mkdir(dir, { recursive: true });
    let proc: Proc;
    if (spec.kind === 'direct') {
      ports[i] = peers[0]!;
      configs.set(spec.id, `no proxy: the generator connects to peer a, 127.0.0.1:${peers[0]}`);
      continue;
    }
    if (spec.kind === 'edgelb') {
      const config = edgelbConfig(port, peers, dir, edgelbVariant(spec.id));
      await writeFile(join(dir, 'edgelb.yaml'), config);
      // An older edgelb (a run on an earlier commit) may not have every key.
      const test = spawnSync(process.execPath, [edgelbBin, '-t', '-c', join(dir, 'edgelb.yaml')], { encoding: 'utf8', timeout: 20_000 });
      if (test.status !== 0) {
        skipped.push(`${spec.label}: this edgelb refuses its config (${`${test.stdout}${test.stderr}`.trim().split('\n').slice(-2).join(' ')})`);
        active = active.filter((s) => s.id !== spec.id);
        continue;
      }
      configs.set(spec.id, config);
      // info: ejections are logged at warn, their end at info; no request is logged at either.
      proc = startProcess(spec.id, process.execPath, [edgelbBin, '-c', join(dir, 'edgelb.yaml')], {
        cwd: dir, env: { ...process.env, LOG_LEVEL: 'info' }, cpus: PROXY_CPUS,
      });
    } else if (spec.kind === 'node') {
      configs.set(spec.id, `node bench/baselines/bare-undici.ts ${port} ${peers.join(' ')}`);
      proc = startProcess(spec.id, process.execPath, [join(repoRoot, 'bench', 'baselines', 'bare-undici.ts'), String(port), ...peers.map(String)], {
        cwd: repoRoot, cpus: PROXY_CPUS,
      });
    } else if (spec.kind === 'nginx') {
      const config = nginxConfig(dir, port, peers, spec.id === 'nginx-lc');
      configs.set(spec.id, config);
      proc = await startNginx(spec.id, dir, config, PROXY_CPUS);
    } else {
      const config = haproxyBalancingConfig(port, peers, spec.id === 'haproxy-lc');
      configs.set(spec.id, config);
      proc = await startHaproxy(dir, config, PROXY_CPUS);
    }
    procs.set(spec.id, proc);
    watchOutput(spec.id, proc, lines);
  }
  for (const note of skipped) log(`skipped ${note}`);
  const servingPid = new Map<string, number>();
  for (const spec of active) {
    const proc = procs.get(spec.id);
    if (proc === undefined) continue;
    try {
      await waitForOk(`http://127.0.0.1:${ports[SYSTEMS.indexOf(spec)]}/`, READY_TIMEOUT_MS, proc.isAlive);
    } catch (err) {
      throw new Error(`${spec.id}: ${(err as Error).message}; output: ${proc.output().trim().split('\n').slice(-5).join(' | ')}`);
    }
    // The process that serves: edgelb's worker and nginx's worker (children), HAProxy and the bare proxy themselves.
    servingPid.set(spec.id, spec.kind === 'haproxy' || spec.kind === 'node' ? proc.pid : await servingChild(proc, READY_TIMEOUT_MS));
  }
  const nodeVersion = `${process.version} (${process.execPath.includes('node_modules') ? 'node_modules/node' : process.execPath})`;
  log(`peers ${peers.join(', ')}; ${active.map((s) => `${s.id} :${ports[SYSTEMS.indexOf(s)]}${servingPid.has(s.id) ? ` pid ${servingPid.get(s.id)}` : ''}`).join('; ')}`);

  loader = new Loader(join(repoRoot, 'bench', 'balancing', 'open-loop.ts'));
  await loader.run({ cmd: 'ready' });

  const runOnce = async (spec: SystemSpec, scenario: Scenario['id'] | 'warm-up', round: number, seconds: number): Promise<Outcome> => {
    // No proxy (`direct`): no CPU of its own, NaN throughout.
    const pid = servingPid.get(spec.id);
    const proxyCpu = () => (pid === undefined ? Number.NaN : cpuMicros(pid));
    await sleep(PAUSE_MS);
    await controlGet('/reset');
    const firstLine = lines.length;
    const t0 = Date.now();
    const cpu0 = [proxyCpu(), cpuMicros(upstreamProc.pid), cpuMicros(loader!.pid)];
    const wall0 = performance.now();
    const result = await loader!.run<RunResult>({ cmd: 'run', port: ports[SYSTEMS.indexOf(spec)]!, rate: options.rate, seconds, connections: options.connections });
    const wallUs = (performance.now() - wall0) * 1000;
    const cpu1 = [proxyCpu(), cpuMicros(upstreamProc.pid), cpuMicros(loader!.pid)];
    if (cpu0.includes(undefined) || cpu1.includes(undefined)) throw new Error(`${spec.id}: a process is gone (${procs.get(spec.id)?.output().slice(-500)})`);
    const upstream = await controlGet<Outcome['upstream']>('/stats');
    const runLines = lines.slice(firstLine).filter((l) => l.system === spec.id);
    const outcome: Outcome = {
      scenario: scenario === 'warm-up' ? 'A' : scenario, system: spec.id, round, result,
      proxyCpuUs: cpu1[0]! - cpu0[0]!, upstreamCpuUs: cpu1[1]! - cpu0[1]!, loaderCpuUs: cpu1[2]! - cpu0[2]!, wallUs,
      upstream, down: 0, up: 0, events: [], otherLines: [], startedAt: t0,
    };
    for (const line of runLines) {
      const kind = classify(line, spec.kind);
      if (kind === undefined) continue;
      if (kind === 'other') {
        outcome.otherLines.push(line.text);
        continue;
      }
      outcome[kind]++;
      // Which peer: edgelb names it as host:port, nginx as the upstream address, HAProxy as s1-s3.
      const port = /127\.0\.0\.1:(\d+)/.exec(line.text)?.[0];
      const server = / be\/s(\d)/.exec(line.text)?.[1];
      const who = port !== undefined ? peerName.get(port) : server !== undefined ? PEERS[Number(server) - 1] : undefined;
      // edgelb says after how many failures in a row, and for how long.
      const failures = /"failures":(\d+)/.exec(line.text)?.[1];
      const forMs = /"ejectedForMs":(\d+)/.exec(line.text)?.[1];
      const detail = failures !== undefined && forMs !== undefined ? ` (${failures} failures in a row, out for ${Number(forMs) / 1000} s)` : '';
      outcome.events.push(`${kind} ${who ?? '?'} at ${((line.at - t0) / 1000).toFixed(1)} s${detail}`);
    }
    const errors = result.scheduled - result.ok;
    const p99 = percentile(result.latenciesUs, 99) / 1000;
    log(`${scenario} ${spec.id}${round > 0 ? ` round ${round + 1}` : ''}: p99 ${p99.toFixed(2)} ms, errors ${errors}/${result.scheduled}, peers ${PEERS.map((p) => result.perPeer[p]?.answers ?? 0).join('/')}, cpu ${Number.isNaN(outcome.proxyCpuUs) ? '—' : (outcome.proxyCpuUs / result.scheduled).toFixed(1)} µs/req${outcome.events.length ? `; ${outcome.events.join(', ')}` : ''}${outcome.otherLines.length ? `; ${outcome.otherLines.length} other log lines` : ''}; max ms per second ${result.latencyMaxPerSecondUs.map((us) => Math.round(us / 1000)).join(' ')}`);
    return outcome;
  };

  // The selection alone, also a check of how fast CPU 1 is at the start and at the end.
  const selectionNsAtStart = selectionCost(edgelbBin, 'at the start');

  // Warm-up: every system, peers alike, unmeasured (Node's JIT settles, pools fill).
  await setPeers(NEUTRAL);
  if (options.warmup > 0) for (const spec of active) await runOnce(spec, 'warm-up', 0, options.warmup);

  // Idle CPU of every serving process at once, no load: what a run's CPU includes anyway.
  await sleep(PAUSE_MS);
  await controlGet('/reset');
  const served = active.filter((s) => servingPid.has(s.id));
  const idle0 = new Map(served.map((s) => [s.id, cpuMicros(servingPid.get(s.id)!)!]));
  const idleWall0 = performance.now();
  await sleep(IDLE_S * 1000);
  const idleSeconds = (performance.now() - idleWall0) / 1000;
  const idleUsPerS = new Map(served.map((s) => [s.id, (cpuMicros(servingPid.get(s.id)!)! - idle0.get(s.id)!) / idleSeconds]));
  // Connections the peers accept with no load: every system's TCP health checks.
  const idleConnectionsPerS = (await controlGet<Outcome['upstream']>('/stats')).reduce((n, u) => n + u.connections, 0) / idleSeconds;
  log(`no load: the peers accepted ${idleConnectionsPerS.toFixed(1)} connections/s (health checks)`);
  // The raw results, a JSON line each as they come (this one first), so a run that fails later loses nothing before it.
  const rawFile = `${values.out!}.jsonl`;
  await writeFile(rawFile, `${JSON.stringify({ idleUsPerS: [...idleUsPerS], idleConnectionsPerS })}\n`);

  const outcomes: Outcome[] = [];
  for (const scenario of SCENARIOS) {
    await setPeers(scenario.peers);
    for (let round = 0; round < options.rounds; round++) {
      const ids = round % 2 === 0 ? systemsOf(scenario) : systemsOf(scenario).reverse();
      for (const id of ids) {
        const outcome = await runOnce(systemOf(id), scenario.id, round, scenario.seconds ?? options.seconds);
        outcomes.push(outcome);
        await appendFile(rawFile, `${JSON.stringify(outcome)}\n`);
      }
    }
  }
  await setPeers(NEUTRAL);
  const selectionNs = selectionCost(edgelbBin, 'at the end');
  // Every process was started from process.execPath: if that file changed during the run (a shared
  // node_modules being reinstalled), the later ones ran on another Node.
  const nodeAtEnd = spawnSync(process.execPath, ['--version'], { encoding: 'utf8', timeout: 10_000 }).stdout?.trim() ?? 'gone';
  const nodeChanged = nodeAtEnd === process.version ? undefined : `${process.execPath} was ${process.version} at the start and ${nodeAtEnd || 'gone'} at the end`;
  if (nodeChanged) log(`warning: ${nodeChanged}`);
  for (const [id, proc] of procs) if (!proc.isAlive()) throw new Error(`${id} exited during the run: ${proc.output().slice(-1000)}`);
  if (!upstreamProc.isAlive()) throw new Error(`the upstreams exited during the run: ${upstreamProc.output()}`);

  const elapsedS = Math.round((Date.now() - startedAt.getTime()) / 1000);
  const version = (command: string) => {
    const result = spawnSync(command, ['-v'], { encoding: 'utf8' });
    return `${result.stdout}\n${result.stderr}`.trim().split('\n')[0]!.trim();
  };
  const section = report({
    outcomes, idleUsPerS, idleConnectionsPerS, nodeChanged, configs, commit, edgelbSource, elapsedS, skipped, selectionNs, selectionNsAtStart,
    startedAt: startedAt.toISOString().replace('T', ' ').slice(0, 16),
    versions: `edgelb ${machine.edgelb.split(',')[0]}, ${edgelbSource}; Node ${nodeVersion}; ${version(NGINX).replace('nginx version: ', '')}; ${version(HAPROXY).replace(/ - https.*$/, '').replace(/ \d{4}\/\d\d\/\d\d$/, '').replace(' version', '')}; ${machine.nproc} × ${machine.cpuModel}, ${machine.kernel}`,
    load: `${loadAtStart} at the start, ${loadAverage()} at the end`,
  });
  await writeFile(values.out!, section);
  process.stdout.write(`\n${section}\n`);
  log(`section written to ${values.out}`);
}

// ---- report ------------------------------------------------------------------------------------

/** A log line in short: a JSON line's message and error, else its first 120 characters. */
function brief(line: string): string {
  try {
    const parsed = JSON.parse(line) as { msg?: unknown; error?: unknown };
    return `"${String(parsed.msg)}"${parsed.error === undefined ? '' : `, error: ${String(parsed.error).slice(0, 80)}`}`;
  } catch {
    return line.slice(0, 120);
  }
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

interface Merged {
  scheduled: number;
  ok: number;
  latenciesUs: number[];
  answersBy: Record<string, number>;
  non2xxBy: Record<string, number>;
  statuses: Record<string, number>;
  failures: Record<string, number>;
  upstreamRequests: number[];
  /** Connections the peers accepted during the runs (the proxy's pool, TCP health checks). */
  upstreamConnections: number;
  upstreamFailed: number[];
  proxyCpuUs: number;
  wallUs: number;
  down: number;
  up: number;
  events: string[];
  otherLines: string[];
  errorsPerSecond: number[][];
  cPerSecond: number[][];
  timerLagMaxUs: number;
  queueWaitMaxUs: number;
  reconnects: number;
  loaderCpuUs: number;
  upstreamCpuUs: number;
}

function merge(outcomes: readonly Outcome[]): Merged {
  const m: Merged = {
    scheduled: 0, ok: 0, latenciesUs: [], answersBy: {}, non2xxBy: {}, statuses: {}, failures: {},
    upstreamRequests: [0, 0, 0], upstreamFailed: [0, 0, 0], upstreamConnections: 0, proxyCpuUs: 0, wallUs: 0, down: 0, up: 0,
    events: [], otherLines: [], errorsPerSecond: [], cPerSecond: [], timerLagMaxUs: 0, queueWaitMaxUs: 0,
    reconnects: 0, loaderCpuUs: 0, upstreamCpuUs: 0,
  };
  for (const o of outcomes) {
    const r = o.result;
    m.scheduled += r.scheduled;
    m.ok += r.ok;
    m.latenciesUs.push(...r.latenciesUs);
    for (const [peer, c] of Object.entries(r.perPeer)) {
      m.answersBy[peer] = (m.answersBy[peer] ?? 0) + c.answers;
      m.non2xxBy[peer] = (m.non2xxBy[peer] ?? 0) + c.non2xx;
    }
    for (const [s, n] of Object.entries(r.statuses)) m.statuses[s] = (m.statuses[s] ?? 0) + n;
    for (const [s, n] of Object.entries(r.failures)) m.failures[s] = (m.failures[s] ?? 0) + n;
    o.upstream.forEach((u, i) => {
      m.upstreamRequests[i]! += u.requests;
      m.upstreamFailed[i]! += u.failed;
      m.upstreamConnections += u.connections;
    });
    m.proxyCpuUs += o.proxyCpuUs;
    m.wallUs += o.wallUs;
    m.down += o.down;
    m.up += o.up;
    m.events.push(...o.events);
    m.otherLines.push(...o.otherLines);
    m.errorsPerSecond.push(r.errorsPerSecond);
    m.cPerSecond.push(r.peerPerSecond.c ?? r.errorsPerSecond.map(() => 0));
    m.timerLagMaxUs = Math.max(m.timerLagMaxUs, r.timerLagMaxUs);
    m.queueWaitMaxUs = Math.max(m.queueWaitMaxUs, r.queueWaitMaxUs);
    m.reconnects += r.reconnects;
    m.loaderCpuUs += o.loaderCpuUs;
    m.upstreamCpuUs += o.upstreamCpuUs;
  }
  return m;
}

const pct = (part: number, whole: number, digits = 1) => (whole === 0 ? '—' : `${((100 * part) / whole).toFixed(digits)} %`);
const msOf = (us: number, digits = 2) => (us / 1000).toFixed(digits);

interface ReportInput {
  outcomes: readonly Outcome[];
  idleUsPerS: ReadonlyMap<string, number>;
  idleConnectionsPerS: number;
  nodeChanged: string | undefined;
  configs: ReadonlyMap<string, string>;
  commit: string;
  edgelbSource: string;
  elapsedS: number;
  startedAt: string;
  versions: string;
  load: string;
  skipped: readonly string[];
  selectionNs: Record<string, number | string>;
  selectionNsAtStart: Record<string, number | string>;
}

function report(input: ReportInput): string {
  const { outcomes, idleUsPerS } = input;
  const label = (id: string) => systemOf(id).label;
  const merged = new Map<string, Merged>();
  for (const scenario of SCENARIOS) {
    for (const id of systemsOf(scenario)) merged.set(`${scenario.id}/${id}`, merge(outcomes.filter((o) => o.scenario === scenario.id && o.system === id)));
  }
  const get = (scenario: string, id: string) => merged.get(`${scenario}/${id}`)!;
  const p = (m: Merged, q: number) => percentile(m.latenciesUs, q);
  const errorsOf = (m: Merged) => m.scheduled - m.ok;
  const describeErrors = (m: Merged) => {
    const parts = [
      ...Object.entries(m.statuses).map(([s, n]) => `${n} × ${s}`),
      ...Object.entries(m.failures).map(([why, n]) => `${n} ${why}`),
    ];
    return parts.length === 0 ? '0' : parts.join(', ');
  };
  const share = (m: Merged) => {
    const answered = PEERS.reduce((n, peer) => n + (m.answersBy[peer] ?? 0), 0);
    return PEERS.map((peer) => ((100 * (m.answersBy[peer] ?? 0)) / Math.max(1, answered)).toFixed(1)).join(' / ');
  };
  const upstreamPerRequest = (m: Merged) => (m.upstreamRequests.reduce((a, b) => a + b, 0) / m.scheduled).toFixed(3);
  const passive = (id: string) => {
    const kind = systemOf(id).kind;
    if (kind === 'edgelb') return edgelbVariant(id).outliers;
    return (kind === 'nginx' || kind === 'haproxy') && !id.endsWith('-rr');
  };
  const downUp = (spec: SystemSpec, m: Merged) => {
    if (!passive(spec.id)) return '—';
    return spec.kind === 'nginx' ? `${m.down} / (not logged)` : `${m.down} / ${m.up}`;
  };

  const scenarioTable = (scenario: Scenario) => table(
    ['', 'p50 ms', 'p99 ms', 'max ms', 'error rate', 'errors', 'answers by a / b / c, %', 'upstream requests per request', 'upstream connections opened', 'peer out / back (logged)', 'proxy CPU µs per request'],
    systemsOf(scenario).map((id) => {
      const spec = systemOf(id);
      const m = get(scenario.id, id);
      return [
        label(id), msOf(p(m, 50)), msOf(p(m, 99)), msOf(p(m, 100), 1), pct(errorsOf(m), m.scheduled, 2), describeErrors(m), share(m),
        upstreamPerRequest(m), String(Math.max(0, Math.round(m.upstreamConnections - input.idleConnectionsPerS * (m.wallUs / 1e6)))), downUp(spec, m),
        Number.isNaN(m.proxyCpuUs) ? '—' : (m.proxyCpuUs / m.scheduled).toFixed(1),
      ];
    }),
  );

  // B over time: what c answered and what the clients got wrong, second by second (first round).
  const b = SCENARIOS[1]!;
  const seconds = outcomes.find((o) => o.scenario === 'B')?.result.errorsPerSecond.length ?? 0;
  const timeline = table(
    ['B, first round', ...Array.from({ length: seconds }, (_, i) => `${i}–${i + 1} s`)],
    systemsOf(b).map((id) => {
      const m = get('B', id);
      return [label(id), ...Array.from({ length: seconds }, (_, i) => `${m.cPerSecond[0]?.[i] ?? 0} / ${m.errorsPerSecond[0]?.[i] ?? 0}`)];
    }),
  );
  const upstreamTable = table(
    ['B', 'requests at a / b / c', '500s answered by c', '500s that reached clients', 'retried elsewhere (upstream requests − client requests)'],
    systemsOf(b).map((id) => {
      const m = get('B', id);
      const atUpstream = m.upstreamRequests.reduce((x, y) => x + y, 0);
      return [label(id), m.upstreamRequests.join(' / '), String(m.upstreamFailed[2]), String(m.statuses['500'] ?? 0), String(atUpstream - m.scheduled)];
    }),
  );

  const c = SCENARIOS[2]!;
  const bStart = (id: string) => outcomes.filter((o) => o.scenario === 'B' && o.system === id).map((o) => o.startedAt).pop();
  const recoveryTable = table(
    [`C, ${RECOVERY_S} s each`, 'seconds since its B run began', 'answers by a / b / c, %', 'answers by c per second', 'error rate', 'peer out / back (logged)'],
    systemsOf(c).map((id) => {
      const m = get('C', id);
      const run = outcomes.find((o) => o.scenario === 'C' && o.system === id)!;
      const since = bStart(id);
      return [
        label(id), since === undefined ? '—' : String(Math.round((run.startedAt - since) / 1000)), share(m),
        (m.cPerSecond[0] ?? []).join(' '), pct(errorsOf(m), m.scheduled, 2), downUp(systemOf(id), m),
      ];
    }),
  );

  const cpuIds = active.filter((s) => s.kind === 'edgelb' || s.kind === 'node').map((s) => s.id);
  const cpuTable = table(
    ['edgelb worker (and the bare Node proxy), scenario A', 'CPU s', 'requests', 'µs per request', 'idle µs per s', 'µs per request less idle', 'share of a core'],
    cpuIds.map((id) => {
      const m = get('A', id);
      const idle = idleUsPerS.get(id)!;
      const runS = m.wallUs / 1e6;
      return [
        label(id).replace('edgelb ', ''), (m.proxyCpuUs / 1e6).toFixed(2), String(m.scheduled), (m.proxyCpuUs / m.scheduled).toFixed(1),
        Math.round(idle).toString(), ((m.proxyCpuUs - idle * runS) / m.scheduled).toFixed(1), pct(m.proxyCpuUs, m.wallUs, 0),
      ];
    }),
  );

  // Facts for the reading, computed so that they always match the tables.
  const facts: string[] = [];
  const isReference = (id: string) => systemOf(id).reference === true;
  for (const scenario of SCENARIOS.filter((s) => s.id !== 'C')) {
    const ids = systemsOf(scenario).filter((id) => !isReference(id));
    const byP99 = [...ids].sort((x, y) => p(get(scenario.id, x), 99) - p(get(scenario.id, y), 99));
    const byErrors = [...ids].sort((x, y) => errorsOf(get(scenario.id, x)) - errorsOf(get(scenario.id, y)));
    const best = byP99[0];
    const edgelbBest = byP99.find((id) => id.startsWith('edgelb'));
    if (best === undefined || edgelbBest === undefined) continue;
    const fewest = errorsOf(get(scenario.id, byErrors[0]!));
    const tied = byErrors.filter((id) => errorsOf(get(scenario.id, id)) === fewest);
    const edgelbFewest = errorsOf(get(scenario.id, byErrors.find((id) => id.startsWith('edgelb'))!));
    const errorsFact = tied.length === ids.length
      ? `Errors: ${fewest} in every row.`
      : `Fewest errors: ${tied.map(label).join(', ')} (${fewest}); edgelb's fewest ${edgelbFewest}.`;
    const otherBest = byP99.find((id) => !id.startsWith('edgelb'));
    const p99Of = (id: string) => p(get(scenario.id, id), 99);
    const edgelbName = label(edgelbBest).replace(/^edgelb /, '');
    let lead: string;
    if (best !== edgelbBest) {
      lead = `${label(best)} (${msOf(p99Of(best))} ms); edgelb's lowest ${edgelbName} (${msOf(p99Of(edgelbBest))} ms, rank ${byP99.indexOf(edgelbBest) + 1} of ${ids.length})`;
    } else {
      lead = `edgelb's ${edgelbName} (${msOf(p99Of(edgelbBest))} ms)`;
      if (otherBest !== undefined) lead += `, ${(p99Of(otherBest) / p99Of(edgelbBest)).toFixed(2)}× below the best of the others, ${label(otherBest)} (${msOf(p99Of(otherBest))} ms)`;
    }
    const references = systemsOf(scenario).filter(isReference)
      .map((id) => `${label(id).replace(/ \(reference\)$/, '')} ${msOf(p(get(scenario.id, id), 99))} ms`).join(', ');
    facts.push(`Scenario ${scenario.id}: lowest p99 ${lead}. ${errorsFact}${references ? ` The references' p99: ${references}.` : ''}`);
  }
  const allRuns = [...merged.values()];
  const lag = Math.max(...allRuns.map((m) => m.timerLagMaxUs));
  const wait = Math.max(...allRuns.map((m) => m.queueWaitMaxUs));
  const reconnects = allRuns.reduce((n, m) => n + m.reconnects, 0);
  const otherLines = [...merged.entries()].filter(([, m]) => m.otherLines.length > 0)
    .map(([key, m]) => `${key}: ${m.otherLines.length} (${[...new Set(m.otherLines.map(brief))].slice(0, 2).join(' | ')})`);
  const eventsOf = (scenario: string, id: string) => get(scenario, id).events.join(', ') || 'none';

  const describeNs = (ns: Record<string, number | string>) => (ns.error !== undefined
    ? `not measured (${String(ns.error)})`
    : Object.entries(ns).map(([name, value]) => `\`${name}\` ${typeof value === 'number' ? value.toFixed(0) : value}`).join(', '));
  const selectionText = `${describeNs(input.selectionNsAtStart)} before the warm-up, and ${describeNs(input.selectionNs)} after the last run`;
  // The same work at the start and at the end: how much slower CPU 1 got during the run.
  const slowdown = typeof input.selectionNs.round_robin === 'number' && typeof input.selectionNsAtStart.round_robin === 'number'
    ? input.selectionNs.round_robin / input.selectionNsAtStart.round_robin : undefined;
  const variants: Record<string, string> = {
    'edgelb-ewma': '`selection: ewma` (all scenarios)',
    'edgelb-lr-od-retry': `\`selection: least_request\` with the same \`outlier_detection\` and \`retry_on: ${RETRY_ON}\`
  (all scenarios): edgelb's counterpart of nginx's \`proxy_next_upstream ... http_500\`, a \`500\` is
  dropped and the GET sent to the next peer, within edgelb's retry budget`,
    'edgelb-ewma-od-retry': '`selection: ewma` with the same `outlier_detection` and `retry_on` (all scenarios)',
  };
  const more = active.filter((s) => variants[s.id] !== undefined);
  const extrasText = [
    ...(more.length === 0 ? [] : [`  And: ${more.map((s) => variants[s.id]).join('; ')}.`]),
    ...input.skipped.map((note) => `  Not run: ${note}.`),
  ].join('\n');
  const referencesText = active.some((s) => s.reference)
    ? `- *References*, which balance nothing and are left out of the rankings: the load generator straight
  to peer a (no proxy: what the generator and the upstreams cost alone), and the least a Node proxy
  does (\`bench/baselines/bare-undici.ts\`: node:http in front, undici \`Pool.stream\` behind, round
  robin, no health, no header rules, pinned like the others).
  The first opens no upstream connections of its own: its count is the generator's ${options.connections} per run.\n`
    : '';
  const configBlock = (id: string) => input.configs.get(id)!.replace(/\/tmp\/edgelb-balancing-\w+/g, 'DIR');
  const rounds = options.rounds === 1 ? 'one run' : `${options.rounds} runs, interleaved (every other round in reverse order)`;

  // The command as run, less where its output went.
  const argv = process.argv.slice(2).filter((arg, i, all) => arg !== '--out' && all[i - 1] !== '--out' && !arg.startsWith('--out='));
  return `## Beyond round robin (2026-12-01)

\`\`\`sh
npx node bench/balancing.ts${argv.map((arg) => ` ${arg}`).join('')}
\`\`\`

About ${Math.max(1, Math.round(input.elapsedS / 60))} minute${Math.round(input.elapsedS / 60) > 1 ? 's' : ''} (\`--help\` lists the options). It starts three upstreams and ${active.filter((s) => s.kind !== 'direct').length} proxy
configurations in front of them, runs two scenarios in which one upstream misbehaves and a third
in which it is well again, and prints the tables below.

**Upstreams.** Three small Node HTTP servers, peers a, b and c, in one Node process of their own
(\`bench/balancing/upstreams.ts\`, not pinned to a CPU), each answering \`GET /\` with \`ok\` after a
delay or with a \`500\` to a random share of requests, set per scenario over a control port. Idle
keep-alive connections are kept 300 s, so no proxy has an upstream connection closed under it.

- *A, one slow peer*: a and b answer after 1 ms, c after 20 ms.
- *B, one failing peer*: all three answer after 1 ms; c answers \`500\` to 30 % of requests, at random.
- *C, after B*: all three healthy again (1 ms, no \`500\`), ${RECOVERY_S} s per system, only for those that
  remember a peer's past (passive health, or latency for \`ewma\`): whether c gets its share back.

A runs first, then B, then C, on the same processes (none is restarted between them).

**Systems**, each one process pinned to CPU 1 with \`taskset -c 1\`, all keeping their upstream
connections alive, all in front of the same three peers (a, b, c in that order):

- *edgelb*, built from ${input.edgelbSource} as its package runs (\`bench/rig/edgelb-build.ts\`),
  \`threads: 1\`, \`access_log: false\`, every other key at its default (TCP health checks every 1 s;
  retries only after connection failures, never after an answer); the figures are its worker's.
  Four instances: \`selection: round_robin\`; \`selection: least_request\`; \`selection:
  least_request\` with \`outlier_detection: { consecutive_failures: 3, failure_statuses: [500],
  base_ejection_time: 5s }\` (\`max_ejection_time\` 5 m and \`max_ejected_percent\` 50, so one of
  the three peers at most, by default); \`selection: random\` (scenario A only, for its CPU cost).
${extrasText}
- *nginx*, \`worker_processes 1\`, the rig's upstream keep-alive (\`keepalive 64\`,
  \`proxy_http_version 1.1\`, \`proxy_set_header Connection ""\`); the figures are its worker's.
  Round robin with the defaults (\`max_fails=1 fail_timeout=10s\`, \`proxy_next_upstream error
  timeout\`, so a \`500\` is passed on and not counted as a failure); and \`least_conn;\` with each
  server \`max_fails=3 fail_timeout=5s\` and \`proxy_next_upstream error timeout http_500;\`. nginx
  counts a \`500\` as a failed attempt only when \`proxy_next_upstream\` lists it, and then it also
  sends the request again to the next peer (up to every peer, \`proxy_next_upstream_tries 0\`): its
  clients see the retried answer, not c's \`500\`. Its \`max_fails\` counts failures within
  \`fail_timeout\`, not in a row, and takes the peer out for \`fail_timeout\`.
- *HAProxy*, \`nbthread 1\`, \`mode http\`, \`option http-keep-alive\`, \`http-reuse always\`, one
  process (\`-db\`). \`balance roundrobin\` without health checks; and \`balance leastconn\` with each
  server \`check inter 2s fall 3 rise 2 observe layer7 error-limit 3 on-error mark-down\`: 3 answers
  in a row that layer-7 observation counts as errors (a \`500\` is one) mark the server down, and
  its TCP health check brings it back after 2 passing checks, 2 s apart. HAProxy does not retry
  after an answer (its \`retry-on\` default is connection failures).
${referencesText}
**Load.** \`bench/balancing/open-loop.ts\`, a Node process pinned to CPU 0, sends ${options.rate} \`GET /\`
per second for ${options.seconds} s per system and scenario (${rounds}; ${RECOVERY_S} s in C), open loop: request *i* is due at
start + *i* / ${options.rate} s whatever the answers do, and waits for one of ${options.connections} keep-alive connections
if all are busy; its latency runs from that due time to the end of its answer, so a stall is not
hidden. Before the scenarios each system gets an unmeasured ${options.warmup} s run with all peers alike, then
all serving processes are left idle for ${IDLE_S} s to read their idle CPU. Between runs, 1 s of quiet.
*Error rate*: requests not answered 2xx (a non-2xx status, a connection closed under it, or no
answer within 5 s of the last request's due time) over requests sent. *Answers by a / b / c*: who
answered (the upstreams' \`x-peer\` header), of all answers. *Upstream requests per request*: what
the peers received over what the clients sent (1 unless a proxy sends a request twice).
*Upstream connections opened*: connections the peers accepted during the run, less what they
accepted anyway (every system's TCP health checks, ${input.idleConnectionsPerS.toFixed(1)} a second with no load, times the
run's length; so exact only to a few): a few for a pool that reopens what it closed while idle
between its runs, about one per request for one that does not keep connections alive. *Peer out /
back*: the ejections and returns edgelb logs (\`peer ejected\`, \`peer back from ejection\`, logged
when the next request finds the time up), nginx's \`upstream server temporarily disabled\` (its
return is not logged) and HAProxy's \`Server be/sN is DOWN\` / \`is UP\`. *Proxy CPU*: utime + stime
of the serving process (\`/proc/PID/stat\`, 10 ms ticks: ±${(10_000 / (options.rate * options.seconds * options.rounds)).toFixed(1)} µs per request at this rate) over the
run, divided by the requests sent.

**Versions.** ${input.versions}. Run of ${input.startedAt} UTC, ${input.elapsedS} s; load average ${input.load}: the
machine is shared and noisy, and this is ${rounds} per system, so only large differences mean anything.

### Scenario A: ${SCENARIOS[0]!.title}

${scenarioTable(SCENARIOS[0]!)}

### Scenario B: ${SCENARIOS[1]!.title}

${scenarioTable(SCENARIOS[1]!)}

What the peers received, and where the \`500\`s went:

${upstreamTable}

Second by second (first round), answers by c / requests not answered 2xx:

${timeline}

Peer out and back events, seconds into each run: ${systemsOf(b).filter(passive).map((id) => `${label(id)}: ${eventsOf('B', id)}`).join('; ')}.

### After B: the same peers, all healthy again

${recoveryTable}

### CPU cost of selection (scenario A)

${cpuTable}

*Idle µs per s* is the worker's CPU over ${IDLE_S} s without load (timers, health updates), which the
run's figure includes; *less idle* takes it out.

The selection alone (\`bench/balancing/selection-cost.ts\`: this build's own selection over three
peers, c with 2 requests in flight, the first candidate asked for 2 million times, median of 5,
pinned to CPU 1 while the proxies were idle), ns per pick: ${selectionText}.

### Rankings and checks

${facts.map((f) => `- ${f}`).join('\n')}
${input.nodeChanged ? `- **Node changed during the run**: ${input.nodeChanged}; the processes started late ran on another Node, and this run does not count.\n` : ''}- Machine check: the selection microbenchmark took ${slowdown === undefined ? '(not measured)' : `${slowdown.toFixed(2)}×`} as long after the last run as before the warm-up${slowdown !== undefined && (slowdown > 1.5 || slowdown < 0.67) ? ': CPU 1 was much slower at one end of the run than at the other, other work was running, and the figures of this run are suspect' : ''}.
- Generator check: it noticed a due request at most ${msOf(lag)} ms late; a due request waited for a free
  connection at most ${msOf(wait)} ms (including stalls of the proxy); ${reconnects} reconnects.
- Log lines beyond ejections and mark-downs during the runs: ${otherLines.length === 0 ? 'none' : otherLines.join('; ')}.

<details><summary>Configurations (DIR is the run's temporary directory; ports are those of this run)</summary>

${active.map((s) => `${label(s.id)}:\n\n\`\`\`\n${configBlock(s.id).trim()}\n\`\`\``).join('\n\n')}

</details>
`;
}

boundedRun(main, {
  budgetMs: budgetS * 1000,
  log,
  cleanup: async () => {
    loader?.kill();
    if (runDir) await rm(runDir, { recursive: true, force: true });
  },
});
