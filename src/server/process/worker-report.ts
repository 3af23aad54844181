import { AggregatorRegistry } from 'prom-client';

/** One metric as prom-client's `getMetricsAsJSON` gives it: what crosses from a worker to its primary. */
export interface MetricJson {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly aggregator?: string;
  readonly values: ReadonlyArray<{ readonly value: number; readonly labels: Readonly<Record<string, string | number>>; readonly metricName?: string }>;
}

/** What one worker says of its own traffic, for an admin view of every worker. */
export interface WorkerReport {
  readonly metrics: readonly MetricJson[];
  /** By peer key (`pool/host:port`). */
  readonly peers: Readonly<Record<string, PeerCounts>>;
  /** Requests each route took, by route name; `''`: the requests no route took. */
  readonly routes: Readonly<Record<string, number>>;
}

export interface PeerCounts {
  readonly inFlight: number;
  readonly tunnels: number;
  readonly requests: number;
}

/** The reports as one: counts summed, metrics merged by each metric's aggregator (prom-client's). */
export async function mergeReports(reports: readonly WorkerReport[]): Promise<WorkerReport> {
  const peers: Record<string, PeerCounts> = {};
  const routes: Record<string, number> = {};
  for (const report of reports) {
    for (const [key, counts] of Object.entries(report.peers)) {
      const sum = peers[key] ?? { inFlight: 0, tunnels: 0, requests: 0 };
      peers[key] = { inFlight: sum.inFlight + counts.inFlight, tunnels: sum.tunnels + counts.tunnels, requests: sum.requests + counts.requests };
    }
    for (const [name, count] of Object.entries(report.routes)) routes[name] = (routes[name] ?? 0) + count;
  }
  const metrics = reports.length === 1 ? reports[0]!.metrics : await AggregatorRegistry.aggregate(reports.map((r) => r.metrics) as object[]).getMetricsAsJSON();
  return { metrics: metrics as readonly MetricJson[], peers, routes };
}

/**
 * What outlives a worker that stopped: its counters and histograms (summed ones), and the
 * requests it counted, so that totals do not fall when a reload replaces the workers. Its gauges
 * and what it had in flight end with it.
 */
export function lasting(report: WorkerReport): WorkerReport {
  const peers: Record<string, PeerCounts> = {};
  for (const [key, counts] of Object.entries(report.peers)) peers[key] = { inFlight: 0, tunnels: 0, requests: counts.requests };
  return {
    metrics: report.metrics.filter((metric) => (metric.type === 'counter' || metric.type === 'histogram') && (metric.aggregator ?? 'sum') === 'sum'),
    peers,
    routes: report.routes,
  };
}
