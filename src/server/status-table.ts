import type { HealthReport, PeerReport } from '../core/shared-health/health-report.ts';
import type { StatusReport } from './admin/status.ts';

/** The health report as a table for people: one block per pool, then the probers. */
export function renderHealthReport(report: HealthReport): string {
  const lines: string[] = [];
  const now = report.generatedAt;
  if (report.stale) {
    lines.push('WARNING: no live prober; edges serve the last known healthy set, which nobody is checking (stale)', '');
  }
  for (const pool of report.pools) {
    lines.push(`pool ${pool.name}`);
    const rows = pool.peers.map((peer) => [
      peer.id,
      stateOf(peer),
      peer.since === undefined ? '-' : ago(now, peer.since),
      peer.checkedAt === undefined ? '-' : ago(now, peer.checkedAt),
      peer.latencyMs === undefined ? '-' : `${peer.latencyMs.toFixed(1)}ms`,
      `${peer.votes.up}/${peer.votes.up + peer.votes.down}`,
      peer.source,
      peer.source === 'config' ? '-' : ago(now, peer.addedAt),
      peer.reason ?? '',
    ]);
    lines.push(...table(['PEER', 'STATE', 'SINCE', 'LAST CHECK', 'LATENCY', 'UP VOTES', 'SOURCE', 'JOINED', 'REASON'], rows), '');
  }
  lines.push('probers');
  const probers = report.probers.map((prober) => [
    prober.id,
    prober.live ? 'live' : 'dead',
    prober.host,
    String(prober.pid),
    ago(now, prober.lastSeen),
  ]);
  if (probers.length === 0) lines.push('  (none has ever written to this redis and prefix)');
  else lines.push(...table(['PROBER', 'STATE', 'HOST', 'PID', 'LAST HEARTBEAT'], probers));
  lines.push('', 'edges');
  const edges = report.edges.map((edge) => [
    edge.edge,
    String(edge.pid),
    edge.live ? 'live' : 'gone',
    edge.version,
    uptime(now - edge.startedAt),
    edge.requestsPerSecond.toFixed(1),
    String(edge.requests),
    edge.requests === 0 ? '-' : `${((edge.errors / edge.requests) * 100).toFixed(2)}%`,
    String(edge.inFlight),
    ago(now, edge.lastSeen),
  ]);
  if (edges.length === 0) lines.push('  (no edge has written to this redis and prefix)');
  else lines.push(...table(['EDGE', 'WORKER', 'STATE', 'VERSION', 'UPTIME', 'REQ/S', 'REQUESTS', '5XX', 'IN FLIGHT', 'LAST SEEN'], edges));
  return `${lines.join('\n')}\n`;
}

/**
 * A running balancer's own view (its admin `/status`, embedded mode) as a table: its routes, in
 * the order they are tried, then one block per pool.
 */
export function renderStatusReport(report: StatusReport): string {
  const now = Date.parse(report.time);
  const at = (time: string | null) => (time === null ? '-' : ago(now, Date.parse(time)));
  const lines: string[] = ['routes'];
  const routes = report.routes.map((route) => [
    route.name, route.host ?? '*', route.path, route.methods?.join(',') ?? '*', route.pool, String(route.requests),
  ]);
  lines.push(...table(['ROUTE', 'HOST', 'PATH', 'METHODS', 'POOL', 'REQUESTS'], routes));
  if (report.unrouted > 0) lines.push(`  (${report.unrouted} requests matched no route: 404)`);
  lines.push('');
  for (const pool of report.pools) {
    lines.push(`pool ${pool.name}`);
    const rows = pool.peers.map((peer) => [
      peer.id,
      peer.state,
      at(peer.since),
      at(peer.checkedAt),
      peer.latencyMs === null ? '-' : `${peer.latencyMs.toFixed(1)}ms`,
      String(peer.inFlight),
      String(peer.requests),
      peer.source,
      peer.source === 'config' ? '-' : at(peer.addedAt),
      peer.reason ?? '',
    ]);
    lines.push(...table(['PEER', 'STATE', 'SINCE', 'LAST CHECK', 'LATENCY', 'IN FLIGHT', 'REQUESTS', 'SOURCE', 'JOINED', 'REASON'], rows), '');
  }
  return `${lines.join('\n')}\n`;
}

function stateOf(peer: PeerReport): string {
  return peer.drained ? `${peer.state}, drained` : peer.state;
}

function uptime(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(seconds / 86_400)}d${String(Math.floor((seconds % 86_400) / 3600)).padStart(2, '0')}h`;
}

function ago(now: number, at: number): string {
  const seconds = Math.max(0, (now - at) / 1000);
  if (seconds < 60) return `${seconds.toFixed(1)}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  return new Date(at).toISOString();
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}
