/**
 * Benchmarks edgelb against nginx, HAProxy and Node baselines (http-proxy, fastify) in front of
 * the same three nginx upstreams, and writes the results into docs/BENCHMARKS.md.
 * Method and rationale: docs/BENCHMARKS.md. Usage: npm run bench -- --help
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { measureBackgroundAccepts, measureRound } from './measure.ts';
import { USAGE, parseOptions, type Options } from './options.ts';
import { renderResults, renderTable, writeResults, type RunReport, type SystemOutcome, type WorkloadOutcome } from './report.ts';
import { waitForOk } from './rig/http.ts';
import { buildEdgelb } from './rig/edgelb-build.ts';
import { describeMachine, loadAverage } from './rig/machine.ts';
import { readMemory, totalRssKiB } from './rig/memory.ts';
import { startNginx, upstreamsConfig } from './rig/nginx.ts';
import { freePorts } from './rig/ports.ts';
import { killAllProcessesNow, stopAllProcesses } from './rig/processes.ts';
import { runWrk } from './rig/wrk.ts';
import { NODE_BASELINE_ID, READY_TIMEOUT_MS, REFERENCE_SYSTEM_ID, SYSTEMS, type RunningSystem } from './systems.ts';
import { WORKLOADS, workloadSeconds, writeUpstreamFiles, writeWrkScript } from './workloads.ts';

// wrk and the proxies get a core each so that neither steals cycles from the other;
// the upstreams float, as they would on a real host.
const WRK_CPUS = '0';
const PROXY_CPUS = '1';
const ALL_CPUS = '0,1';
/** Quiet time after the last round before memory is read again: does it come back down? */
const SETTLE_SECONDS = 10;
const settleSeconds = (options: Options): number => Math.min(SETTLE_SECONDS, options.seconds);
const UPSTREAM_COUNT = 3;

const repoRoot = resolve(import.meta.dirname, '..');
let tempDir: string | undefined;
// Aborted on the first call to finish(), so that main() stops at its next step
// instead of carrying on against a rig that is being torn down.
const aborted = new AbortController();
let shutdown: Promise<void> | undefined;
let exitCode = 0;

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** An upper bound on a run that goes wrong at every step, after which we give up. */
function timeBudgetSeconds(options: Options): number {
  const wrkSlack = 17;
  const perWorkload = options.warmupSeconds + wrkSlack + options.rounds * (options.seconds + wrkSlack);
  const perSystem = 2 * READY_TIMEOUT_MS / 1000 + 5 + WORKLOADS.length * perWorkload;
  return 60 + options.idleSeconds + settleSeconds(options) + SYSTEMS.length * perSystem;
}

function checkpoint(): void {
  aborted.signal.throwIfAborted();
}

/** The first caller decides the exit code; later callers just wait for the cleanup. */
async function finish(code: number, reason?: string): Promise<never> {
  if (shutdown === undefined) {
    exitCode = code;
    if (reason) log(reason);
    aborted.abort();
    shutdown = (async () => {
      await stopAllProcesses();
      if (tempDir) await rm(tempDir, { recursive: true, force: true });
    })();
  }
  await shutdown;
  process.exit(exitCode);
}

async function main(options: Options): Promise<void> {
  const startedAt = new Date();
  const started = performance.now();
  const machine = describeMachine(repoRoot);
  tempDir = await mkdtemp(join(tmpdir(), 'edgelb-bench-'));

  const ports = await freePorts(UPSTREAM_COUNT + 1 + SYSTEMS.length);
  const upstreamPorts = ports.slice(0, UPSTREAM_COUNT);
  const statusPort = ports[UPSTREAM_COUNT]!;
  const systemPorts = ports.slice(UPSTREAM_COUNT + 1);
  const statusUrl = `http://127.0.0.1:${statusPort}/`;

  log(`upstreams on ${upstreamPorts.join(', ')}, stub_status on ${statusPort}`);
  const upstreamDir = join(tempDir, 'upstreams');
  await mkdir(upstreamDir, { recursive: true });
  await writeUpstreamFiles(upstreamDir);
  const upstreams = await startNginx('upstreams', upstreamDir, upstreamsConfig(upstreamDir, upstreamPorts, statusPort));
  for (const port of [...upstreamPorts, statusPort]) {
    await waitForOk(`http://127.0.0.1:${port}/`, READY_TIMEOUT_MS, upstreams.isAlive).catch((err: Error) => {
      throw new Error(`upstream nginx did not start: ${err.message}\n${upstreams.output()}`);
    });
  }

  const edgelbBin = options.edgelbBin ?? await buildEdgelb(repoRoot, join(tempDir, 'edgelb-package'));
  log(`edgelb: ${options.edgelbBin === undefined ? 'this checkout, compiled' : edgelbBin}`);

  const outcomes: SystemOutcome[] = [];
  const running = new Map<string, RunningSystem>();
  for (const [i, spec] of SYSTEMS.entries()) {
    checkpoint();
    const outcome: SystemOutcome = { id: spec.id, label: spec.label, rounds: [], failures: [] };
    outcomes.push(outcome);
    try {
      const ctx = {
        repoRoot,
        edgelbBin,
        dir: join(tempDir, spec.id),
        port: systemPorts[i]!,
        upstreamPorts,
        proxyCpus: PROXY_CPUS,
        allCpus: ALL_CPUS,
      };
      running.set(spec.id, await spec.start(ctx));
      log(`${spec.id}: ready`);
    } catch (err) {
      outcome.unavailable = (err as Error).message;
      log(`${spec.id}: not available: ${outcome.unavailable}`);
    }
  }

  checkpoint();
  log(`measuring background upstream connections for ${options.idleSeconds} s`);
  const backgroundAcceptsPerSecond = await measureBackgroundAccepts(statusUrl, options.idleSeconds);
  log(`background: ${backgroundAcceptsPerSecond.toFixed(1)} upstream connections/s`);

  const active = outcomes.filter((outcome) => running.has(outcome.id));
  const tables: WorkloadOutcome[] = [];
  for (const workload of WORKLOADS) {
    const seconds = workloadSeconds(workload, options.seconds);
    const script = await writeWrkScript(tempDir, workload);
    const table: WorkloadOutcome = {
      workload,
      seconds,
      systems: outcomes.map(({ id, label, unavailable }) => ({ id, label, unavailable, rounds: [], failures: [] })),
    };
    tables.push(table);
    const load = (outcome: SystemOutcome) => {
      const system = running.get(outcome.id)!;
      return { url: new URL(workload.path, system.url).href, wrkCpus: WRK_CPUS, script, servingPids: () => system.servingPids() };
    };
    const measured = table.systems.filter((outcome) => running.has(outcome.id));

    const warmup = Math.min(options.warmupSeconds, seconds);
    if (warmup > 0) {
      for (const outcome of measured) {
        checkpoint();
        log(`${workload.id} ${outcome.id}: warmup ${warmup} s`);
        const { url, wrkCpus } = load(outcome);
        await runWrk(url, warmup, wrkCpus, script).catch((err: Error) => {
          log(`${workload.id} ${outcome.id}: warmup failed: ${err.message}`);
        });
      }
    }

    // Interleaving spreads the machine's background noise over all systems instead of
    // letting it land on whichever one happened to run during a noisy minute.
    for (let round = 1; round <= options.rounds; round++) {
      for (const outcome of measured) {
        checkpoint();
        try {
          const result = await measureRound({ ...load(outcome), seconds }, statusUrl, backgroundAcceptsPerSecond);
          outcome.rounds.push(result);
          log(
            `${workload.id} round ${round}/${options.rounds} ${outcome.id}: ${Math.round(result.wrk.requestsPerSecond)} req/s, ` +
              `p99 ${result.wrk.p99Ms} ms, ${result.upstreamConnections} upstream conns / ${result.upstreamRequests} requests`,
          );
        } catch (err) {
          outcome.failures.push(`round ${round}: ${(err as Error).message.split('\n')[0]}`);
          log(`${workload.id} round ${round}/${options.rounds} ${outcome.id}: failed: ${(err as Error).message}`);
        }
      }
    }
  }

  for (const outcome of active) {
    const system = running.get(outcome.id)!;
    const pids = system.servingPids();
    const memory = pids.length === 1 ? readMemory(pids[0]!) : undefined;
    outcome.memory = { rssKiB: totalRssKiB(pids), peakKiB: memory?.peakKiB };
  }
  checkpoint();
  log(`${settleSeconds(options)} s without load, then memory again`);
  await sleep(settleSeconds(options) * 1000);
  for (const outcome of active) {
    const system = running.get(outcome.id)!;
    if (outcome.memory) outcome.memory.settledKiB = totalRssKiB(system.servingPids());
    if (system.proc && !system.proc.isAlive()) outcome.exitedEarly = true;
  }

  checkpoint();
  const report: RunReport = {
    startedAt,
    elapsedSeconds: (performance.now() - started) / 1000,
    options,
    machine,
    proxyCpus: PROXY_CPUS,
    wrkCpus: WRK_CPUS,
    backgroundAcceptsPerSecond,
    loadAverageAtEnd: loadAverage(),
    referenceId: REFERENCE_SYSTEM_ID,
    nodeBaselineId: NODE_BASELINE_ID,
    settleSeconds: settleSeconds(options),
    systems: outcomes,
    tables,
  };
  await writeResults(options.out, renderResults(report));
  process.stdout.write(`\n${tables.map((table) => `${table.workload.title}\n${renderTable(report, table)}`).join('\n\n')}\n\nwritten to ${options.out}\n`);
}

let options: Options | 'help';
try {
  options = parseOptions(process.argv.slice(2), process.env, repoRoot);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
if (options === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

process.once('SIGINT', () => void finish(130, 'interrupted'));
process.once('SIGTERM', () => void finish(143, 'terminated'));
process.once('SIGHUP', () => void finish(129, 'hangup'));
process.on('exit', killAllProcessesNow);

const budget = timeBudgetSeconds(options);
const watchdog = setTimeout(() => void finish(1, `time budget of ${budget} s exceeded, giving up`), budget * 1000);
main(options).then(
  () => {
    clearTimeout(watchdog);
    return finish(0);
  },
  (err: unknown) => finish(1, `failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
);
