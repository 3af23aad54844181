import type { ExcessResult, InvalidFieldResult } from './h2-cases.ts';
import type { HeldResult, PipeliningResult, ProbeResult } from './http1-probes.ts';

/** Everything measured of one proxy. */
export interface ProxyResults {
  readonly name: string;
  readonly version: string;
  readonly pipelining: PipeliningResult;
  readonly slowloris: HeldResult;
  readonly tlsStall: HeldResult;
  readonly smuggling: Record<string, ProbeResult>;
  readonly targets: Record<string, ProbeResult>;
  readonly overflow: string;
  readonly overflowSplit: string;
  readonly h2Excess: ExcessResult;
  readonly h2ExcessAfterSettings: ExcessResult;
  readonly h2Invalid: Record<string, InvalidFieldResult>;
  readonly aftermath: { readonly serves: string; readonly pidsBefore: number[]; readonly pidsAfter: number[]; readonly alarms: readonly string[] };
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A held-connections result in one cell: `10.3 s (408)`, `open ≥ 90 s`. */
function held(result: HeldResult): string {
  const outcomes = Object.entries(result.outcomes).map(([what, n]) => (n === result.connections ? what : `${n} × ${what}`)).join(', ');
  if (result.stillOpen === result.connections) return `open ≥ ${seconds(result.capMs)}`;
  const spread = result.maxMs - result.minMs > 1_000 ? ` (${seconds(result.minMs)}–${seconds(result.maxMs)})` : '';
  const open = result.stillOpen > 0 ? `; ${result.stillOpen} still open at ${seconds(result.capMs)}` : '';
  return `${seconds(result.medianMs)}${spread}: ${outcomes}${open}`;
}

function probeCell(result: ProbeResult): string {
  const reached = result.forwarded.length > 0 ? `backend got ${result.forwarded.join(', ')}` : 'not forwarded';
  const malformed = result.malformedAtBackend > 0 ? `; ${result.malformedAtBackend} unparseable at the backend` : '';
  return `${result.outcome}, ${reached}${malformed}`;
}

/** The Markdown tables, probes as rows and proxies as columns. */
export function renderTables(results: readonly ProxyResults[]): string {
  const header = ['probe', ...results.map((r) => r.version)];
  const row = (label: string, cell: (r: ProxyResults) => string): string[] => [label, ...results.map(cell)];
  const first = results[0]!;
  const sections: string[] = [];

  sections.push('### 1. Pipelining fan-out (2,000 `GET /slow` on one connection, 20 s)', table(header, [
    row('answered in 20 s', (r) => `${r.pipelining.answered}${Object.keys(r.pipelining.statuses).length > 1 || !r.pipelining.statuses['200'] ? ` (${Object.entries(r.pipelining.statuses).map(([s, n]) => `${n} × ${s}`).join(', ')})` : ''}`),
    row('answers in order', (r) => (r.pipelining.inOrder ? 'yes' : 'no')),
    row('requests the backend received', (r) => String(r.pipelining.forwarded)),
    row('peak upstream connections', (r) => String(r.pipelining.peakUpstreamConnections)),
    row('peak concurrent upstream requests', (r) => String(r.pipelining.peakUpstreamInFlight)),
    row('forwarded 0.5–4.5 s after the client left', (r) => String(r.pipelining.forwardedAfterClose)),
  ]));

  sections.push('### 2–3. Slow clients', table(header, [
    row(`slowloris: ${first.slowloris.connections} heads, one line every 2 s (median time to close)`, (r) => held(r.slowloris)),
    row(`TLS handshake stall: ${first.tlsStall.connections} connections sending nothing`, (r) => held(r.tlsStall)),
  ]));

  sections.push('### 4. Smuggling corpus (status; what the backend received)', table(header,
    Object.keys(first.smuggling).map((form) => row(form, (r) => probeCell(r.smuggling[form]!)))));

  sections.push('### 5. Request targets and head limits', table(header,
    Object.keys(first.targets).map((form) => row(form, (r) => probeCell(r.targets[form]!)))));

  sections.push('### 6. Upstream chunk-size overflow (`ffffffffffffffffff`): what the client got', table(header, [
    row('head and bad chunk in one write', (r) => r.overflow),
    row('bad chunk 200 ms after the head', (r) => r.overflowSplit),
  ]));

  sections.push('### 7. HTTP/2', table(header, [
    row('200 streams of `GET /slow` at once, before SETTINGS are acknowledged', (r) => r.h2Excess.summary),
    row('… requests the backend received', (r) => String(r.h2Excess.forwarded)),
    row('200 streams at once, after both SETTINGS are acknowledged', (r) => r.h2ExcessAfterSettings.summary),
    row('… requests the backend received', (r) => String(r.h2ExcessAfterSettings.forwarded)),
    ...Object.keys(first.h2Invalid).map((form) => row(form, (r) => invalidCell(r.h2Invalid[form]!))),
  ]));

  sections.push('### After the probes', table(header, [
    row('`GET /` still answered', (r) => r.aftermath.serves),
    row('serving processes replaced', (r) => (sameSet(r.aftermath.pidsBefore, r.aftermath.pidsAfter) ? 'none' : `${r.aftermath.pidsBefore.join(' ')} → ${r.aftermath.pidsAfter.join(' ') || 'none'}`)),
    row('crash or restart lines in its log', (r) => (r.aftermath.alarms.length === 0 ? 'none' : r.aftermath.alarms.map((a) => `\`${a.slice(0, 120)}\``).join('<br>'))),
  ]));
  return sections.join('\n\n');
}

function invalidCell(result: InvalidFieldResult): string {
  const forwarded = result.received === undefined ? 'forwarded without the field' : `forwarded as ${result.received}`;
  return `${result.summary}; ${result.forwarded ? forwarded : 'not forwarded'}`;
}

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((pid) => b.includes(pid));
}
