import type { MetricJson } from '../process/worker-report.ts';
import { peerKey } from '../../core/shared-health/keys.ts';

/** What `/status` takes from the metrics: answers with a 5xx, and upstream latency as histogram buckets. */
export interface StatusFigures {
  /** The upper bounds of the latency buckets, in ms (the last, +Inf, left out). */
  readonly latencyBoundsMs: readonly number[];
  /** By peer key (`pool/host:port`). */
  readonly peers: ReadonlyMap<string, { readonly errors: number; readonly latencyBuckets: readonly number[] }>;
  /** By route name. */
  readonly routeErrors: ReadonlyMap<string, number>;
}

/**
 * The figures from a metrics exposition as JSON (one worker's, or every worker's merged). The
 * buckets stay cumulative counts since start: the dashboard takes the difference between two
 * readings, so its percentiles are of the last seconds, not of the process's life.
 */
export function statusFigures(metrics: readonly MetricJson[]): StatusFigures {
  const peers = new Map<string, { errors: number; latencyBuckets: number[] }>();
  const routeErrors = new Map<string, number>();
  const of = (key: string) => {
    let figures = peers.get(key);
    if (figures === undefined) peers.set(key, (figures = { errors: 0, latencyBuckets: [] }));
    return figures;
  };
  let bounds: number[] = [];
  for (const metric of metrics) {
    if (metric.name === 'edgelb_requests_total') {
      for (const { value, labels } of metric.values) {
        if (labels.status_class !== '5xx' || value === 0) continue;
        if (labels.peer !== '') of(peerKey({ pool: String(labels.pool), id: String(labels.peer) })).errors += value;
        if (labels.route !== '') routeErrors.set(String(labels.route), (routeErrors.get(String(labels.route)) ?? 0) + value);
      }
    } else if (metric.name === 'edgelb_upstream_latency_seconds') {
      const byPeer = new Map<string, Array<[number, number]>>();
      for (const { value, labels, metricName } of metric.values) {
        if (metricName !== 'edgelb_upstream_latency_seconds_bucket') continue;
        const key = peerKey({ pool: String(labels.pool), id: String(labels.peer) });
        const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
        byPeer.set(key, [...(byPeer.get(key) ?? []), [le, value]]);
      }
      for (const [key, buckets] of byPeer) {
        buckets.sort((a, b) => a[0] - b[0]);
        of(key).latencyBuckets = buckets.map(([, count]) => count);
        if (bounds.length === 0) bounds = buckets.filter(([le]) => le !== Infinity).map(([le]) => Math.round(le * 1e6) / 1e3);
      }
    }
  }
  return { latencyBoundsMs: bounds, peers, routeErrors };
}
