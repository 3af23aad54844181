import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Machine } from './rig/machine.ts';
import { WRK_CONNECTIONS, WRK_THREADS } from './rig/wrk.ts';
import type { RoundResult } from './measure.ts';
import type { Options } from './options.ts';
import type { Workload } from './workloads.ts';
import { max, median, min, sum } from './stats.ts';

export interface SystemOutcome {
  id: string;
  label: string;
  /** Why the system could not be started; its row then says "not available". */
  unavailable?: string;
  rounds: RoundResult[];
  /** Rounds that could not be measured at all, with the reason. */
  failures: string[];
  /** Read once after the last round of the last table, and again after the quiet time. */
  memory?: MemoryAfterRun;
  /** Set when the process was no longer running after the last round. */
  exitedEarly?: boolean;
}

export interface MemoryAfterRun {
  /** Summed RSS of the serving processes right after the last round. */
  rssKiB?: number;
  /** VmHWM, the peak over the process's life (single-process systems only). */
  peakKiB?: number;
  /** Summed RSS after the quiet time. */
  settledKiB?: number;
}

/** One table: every system under one workload. */
export interface WorkloadOutcome {
  workload: Workload;
  seconds: number;
  systems: SystemOutcome[];
}

export interface RunReport {
  startedAt: Date;
  elapsedSeconds: number;
  options: Options;
  machine: Machine;
  proxyCpus: string;
  wrkCpus: string;
  backgroundAcceptsPerSecond: number;
  /** 1, 5 and 15 minute load averages after the last round: a busy host shows here. */
  loadAverageAtEnd: string;
  referenceId: string;
  /** The Node baseline row, for the second ratio column. */
  nodeBaselineId: string;
  settleSeconds: number;
  /** Startup and memory per system; the rounds are in `tables`. */
  systems: SystemOutcome[];
  tables: WorkloadOutcome[];
}

export const BEGIN_MARKER = '<!-- BEGIN GENERATED RESULTS: `npm run bench` rewrites everything up to the END marker -->';
export const END_MARKER = '<!-- END GENERATED RESULTS -->';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function compactCount(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(0)}k`;
  return integer.format(value);
}

function formatMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toPrecision(2)} ms`;
}

function rates(outcome: SystemOutcome): number[] {
  return outcome.rounds.map((round) => round.wrk.requestsPerSecond);
}

function reqPerSecCell(outcome: SystemOutcome): string {
  const values = rates(outcome);
  return `${integer.format(median(values))} (${integer.format(min(values))}–${integer.format(max(values))})`;
}

function connsPerRequestCell(outcome: SystemOutcome): string {
  const connections = sum(outcome.rounds.map((round) => round.upstreamConnections));
  const requests = sum(outcome.rounds.map((round) => round.upstreamRequests));
  if (requests <= 0) return '—';
  const ratio = connections / requests;
  const shown = ratio === 0 ? '0' : ratio >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(2);
  // Each new connection carries at least one request; the others rode on a reused one.
  const reused = Math.max(0, 1 - ratio) * 100;
  // Truncated, not rounded, so that 99.89% never shows as 99.9%.
  const decimals = reused >= 99.9 ? 3 : reused >= 99 ? 2 : 1;
  const reusedText = reused === 100 ? '100' : (Math.floor(reused * 10 ** decimals) / 10 ** decimals).toFixed(decimals);
  return `${shown} (${integer.format(connections)} / ${compactCount(requests)}; ${reusedText}% reused)`;
}

const mib = (kib: number | undefined): string => (kib === undefined ? '—' : `${(kib / 1024).toFixed(0)} MiB`);

function rssDuringCell(outcome: SystemOutcome): string {
  const samples = outcome.rounds.flatMap((round) => (round.rssDuringKiB === undefined ? [] : [round.rssDuringKiB]));
  return samples.length === 0 ? '—' : mib(max(samples));
}

function errorsCell(outcome: SystemOutcome): string {
  const totals = { 'non-2xx': 0, connect: 0, read: 0, write: 0, timeout: 0 };
  for (const { wrk } of outcome.rounds) {
    totals['non-2xx'] += wrk.non2xx;
    totals.connect += wrk.socketErrors.connect;
    totals.read += wrk.socketErrors.read;
    totals.write += wrk.socketErrors.write;
    totals.timeout += wrk.socketErrors.timeout;
  }
  const parts = Object.entries(totals)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${kind} ${integer.format(count)}`);
  if (outcome.failures.length > 0) parts.push(`${outcome.failures.length} round(s) failed`);
  return parts.length === 0 ? '0' : parts.join(', ');
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function medianRate(table: WorkloadOutcome, id: string): number {
  const outcome = table.systems.find((candidate) => candidate.id === id);
  return outcome && outcome.rounds.length > 0 ? median(rates(outcome)) : Number.NaN;
}

function ratioCell(value: number, reference: number): string {
  const ratio = value / reference;
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '—';
}

export function renderTable(report: RunReport, table: WorkloadOutcome): string {
  const referenceRate = medianRate(table, report.referenceId);
  const nodeRate = medianRate(table, report.nodeBaselineId);
  const header = [
    'System',
    'req/s median (min–max)',
    'p99 median',
    'upstream conns per request',
    'RSS during run (max)',
    'vs nginx keepalive',
    'vs http-proxy',
    'errors',
  ];
  const rows = table.systems.map((outcome) => {
    if (outcome.unavailable !== undefined || outcome.rounds.length === 0) {
      return [outcome.label, 'not available', '—', '—', '—', '—', '—', outcome.failures.length > 0 ? 'all rounds failed' : '—'];
    }
    const rate = median(rates(outcome));
    return [
      outcome.label,
      reqPerSecCell(outcome),
      formatMs(median(outcome.rounds.map((round) => round.wrk.p99Ms))),
      connsPerRequestCell(outcome),
      rssDuringCell(outcome),
      ratioCell(rate, referenceRate),
      ratioCell(rate, nodeRate),
      errorsCell(outcome),
    ];
  });
  return markdownTable(header, rows);
}

function markdownTable(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.map(escapeCell).join(' | ')} |`).join('\n');
}

function renderMemoryTable(report: RunReport): string {
  const header = ['System', 'RSS after the last round', 'peak RSS (VmHWM)', `RSS after ${report.settleSeconds} s without load`];
  const rows = report.systems
    .filter((outcome) => outcome.memory !== undefined && outcome.memory.rssKiB !== undefined)
    .map((outcome) => [outcome.label, mib(outcome.memory!.rssKiB), mib(outcome.memory!.peakKiB), mib(outcome.memory!.settledKiB)]);
  return markdownTable(header, rows);
}

function renderRoundsTable(report: RunReport, table: WorkloadOutcome): string {
  const header = ['System', ...Array.from({ length: report.options.rounds }, (_, i) => `round ${i + 1}`)];
  const rows = table.systems
    .filter((outcome) => outcome.rounds.length > 0)
    .map((outcome) => [
      outcome.label,
      ...outcome.rounds.map((round) => `${integer.format(round.wrk.requestsPerSecond)} req/s, p99 ${formatMs(round.wrk.p99Ms)}`),
    ]);
  return markdownTable(header, rows);
}

function renderNotes(report: RunReport): string[] {
  const notes: string[] = [];
  for (const outcome of report.systems) {
    if (outcome.unavailable !== undefined) notes.push(`${outcome.label}: not available: ${outcome.unavailable}`);
    if (outcome.exitedEarly) notes.push(`${outcome.label}: the process was no longer running after the last round.`);
  }
  const background = report.backgroundAcceptsPerSecond;
  notes.push(
    background > 0
      ? `With no load, the upstreams accepted ${background.toFixed(1)} connections/s (health checks); that rate times each round's length was subtracted from every round's count.`
      : 'With no load, the upstreams accepted no connections, so nothing was subtracted from the connection counts.',
  );
  for (const table of report.tables) {
    for (const outcome of table.systems) {
      for (const failure of outcome.failures) notes.push(`${table.workload.title}, ${outcome.label}: a round failed: ${failure}`);
    }
  }
  return notes;
}

function edgelbForm(options: Options): string {
  if (options.fromSource) return 'its TypeScript run directly (--from-source)';
  if (options.edgelbBin !== undefined) return 'the entry point given with --edgelb';
  return 'compiled to JavaScript, as its npm package runs';
}

function renderMachine(report: RunReport): string {
  const { machine } = report;
  const rows: [string, string][] = [
    ['nproc', machine.nproc],
    ['CPU', machine.cpuModel],
    ['kernel', machine.kernel],
    ['edgelb', `${machine.edgelb}, ${edgelbForm(report.options)}`],
    ['Node.js', machine.node],
    ['nginx', machine.nginx],
    ['HAProxy', machine.haproxy],
    ['wrk', machine.wrk],
    ['load average at start', machine.loadAverage],
    ['load average at end', report.loadAverageAtEnd],
  ];
  return ['| | |', '| --- | --- |', ...rows.map(([key, value]) => `| ${key} | ${escapeCell(value)} |`)].join('\n');
}

export function renderResults(report: RunReport): string {
  const { options } = report;
  const when = report.startedAt.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const lines = [
    BEGIN_MARKER,
    '',
    '## Results',
    '',
    `Run of ${when}, ${Math.round(report.elapsedSeconds)} s in total. Per table: ${options.rounds} interleaved round(s) per system ` +
      `after a warmup, \`wrk -t${WRK_THREADS} -c${WRK_CONNECTIONS} --latency\` on CPU ${report.wrkCpus}, ` +
      `proxies on CPU ${report.proxyCpus} (except where a row says otherwise).`,
  ];
  if (options.rounds < 3 || options.seconds < 5) {
    lines.push('', '> **Short run.** These numbers only show that the rig works; run `npm run bench` with the defaults for figures worth comparing.');
  }
  for (const table of report.tables) {
    lines.push('', `### ${table.workload.title}`, '', `Rounds of ${table.seconds} s, path \`${table.workload.path}\`.`, '', renderTable(report, table));
  }
  lines.push(
    '',
    ...renderNotes(report).map((note) => `- ${note}`),
    '',
    '### Memory',
    '',
    renderMemoryTable(report),
  );
  for (const table of report.tables) {
    lines.push('', `### Per round: ${table.workload.title}`, '', renderRoundsTable(report, table));
  }
  lines.push(
    '',
    '### Machine',
    '',
    renderMachine(report),
    '',
    END_MARKER,
  );
  return lines.join('\n');
}

const FALLBACK_INTRO = `# Benchmarks

How the edgelb proxy compares with nginx and HAProxy in front of the same upstreams. The rig is in \`bench/\`; run it with \`npm run bench\`.

`;

/**
 * Replaces the generated section of the document and keeps everything around it,
 * so the hand-written intro and method survive a rerun.
 */
export async function writeResults(path: string, section: string): Promise<void> {
  let document: string;
  if (!existsSync(path)) {
    document = `${FALLBACK_INTRO}${section}\n`;
  } else {
    const current = await readFile(path, 'utf8');
    const begin = current.indexOf(BEGIN_MARKER);
    const end = current.indexOf(END_MARKER);
    document =
      begin >= 0 && end > begin
        ? current.slice(0, begin) + section + current.slice(end + END_MARKER.length)
        : `${current.trimEnd()}\n\n${section}\n`;
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, document);
}
