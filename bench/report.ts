import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Machine } from './rig/machine.ts';
import type { Memory } from './rig/memory.ts';
import { WRK_CONNECTIONS, WRK_THREADS } from './rig/wrk.ts';
import type { RoundResult } from './measure.ts';
import type { Options } from './options.ts';
import { max, median, min, sum } from './stats.ts';

export interface SystemOutcome {
  id: string;
  label: string;
  /** Why the system could not be started; its row then says "not available". */
  unavailable?: string;
  rounds: RoundResult[];
  /** Rounds that could not be measured at all, with the reason. */
  failures: string[];
  memory?: Memory;
  /** Set when the process was no longer running after the last round. */
  exitedEarly?: boolean;
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
  systems: SystemOutcome[];
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
  return `${shown} (${integer.format(connections)} / ${compactCount(requests)})`;
}

function memoryCell(outcome: SystemOutcome): string {
  if (!outcome.memory) return '—';
  const mib = (kib: number): string => (kib / 1024).toFixed(0);
  return `${mib(outcome.memory.rssKiB)} MiB (peak ${mib(outcome.memory.peakKiB)})`;
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

export function renderTable(report: RunReport): string {
  const reference = report.systems.find((outcome) => outcome.id === report.referenceId);
  const referenceRate = reference && reference.rounds.length > 0 ? median(rates(reference)) : Number.NaN;
  const header = [
    'System',
    'req/s median (min–max)',
    'p99 median',
    'upstream conns per request',
    'RSS after run (peak)',
    'req/s vs nginx keepalive',
    'errors',
  ];
  const rows = report.systems.map((outcome) => {
    if (outcome.unavailable !== undefined || outcome.rounds.length === 0) {
      return [outcome.label, 'not available', '—', '—', '—', '—', outcome.failures.length > 0 ? 'all rounds failed' : '—'];
    }
    const ratio = median(rates(outcome)) / referenceRate;
    return [
      outcome.label,
      reqPerSecCell(outcome),
      formatMs(median(outcome.rounds.map((round) => round.wrk.p99Ms))),
      connsPerRequestCell(outcome),
      memoryCell(outcome),
      Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '—',
      errorsCell(outcome),
    ];
  });
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.map(escapeCell).join(' | ')} |`).join('\n');
}

function renderRoundsTable(report: RunReport): string {
  const header = ['System', ...Array.from({ length: report.options.rounds }, (_, i) => `round ${i + 1}`)];
  const rows = report.systems
    .filter((outcome) => outcome.rounds.length > 0)
    .map((outcome) => [
      outcome.label,
      ...outcome.rounds.map((round) => `${integer.format(round.wrk.requestsPerSecond)} req/s, p99 ${formatMs(round.wrk.p99Ms)}`),
    ]);
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.map(escapeCell).join(' | ')} |`).join('\n');
}

function renderNotes(report: RunReport): string[] {
  const notes: string[] = [];
  for (const outcome of report.systems) {
    if (outcome.unavailable !== undefined) notes.push(`${outcome.label}: not available: ${outcome.unavailable}`);
    for (const failure of outcome.failures) notes.push(`${outcome.label}: a round failed: ${failure}`);
    if (outcome.exitedEarly) notes.push(`${outcome.label}: the process was no longer running after the last round.`);
  }
  const background = report.backgroundAcceptsPerSecond;
  notes.push(
    background > 0
      ? `With no load, the upstreams accepted ${background.toFixed(1)} connections/s (health checks); that rate times each round's length was subtracted from every round's count.`
      : 'With no load, the upstreams accepted no connections, so nothing was subtracted from the connection counts.',
  );
  return notes;
}

function renderMachine(report: RunReport): string {
  const { machine } = report;
  const rows: [string, string][] = [
    ['nproc', machine.nproc],
    ['CPU', machine.cpuModel],
    ['kernel', machine.kernel],
    ['edgelb', machine.edgelb],
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
    `Run of ${when}, ${Math.round(report.elapsedSeconds)} s in total: ${options.rounds} interleaved round(s) of ${options.seconds} s per system ` +
      `after a ${options.warmupSeconds} s warmup, \`wrk -t${WRK_THREADS} -c${WRK_CONNECTIONS} -d${options.seconds}s --latency\` on CPU ${report.wrkCpus}, ` +
      `proxies on CPU ${report.proxyCpus}.`,
  ];
  if (options.rounds < 3 || options.seconds < 5) {
    lines.push('', '> **Short run.** These numbers only show that the rig works; run `npm run bench` with the defaults for figures worth comparing.');
  }
  lines.push(
    '',
    renderTable(report),
    '',
    ...renderNotes(report).map((note) => `- ${note}`),
    '',
    '### Per round',
    '',
    renderRoundsTable(report),
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
