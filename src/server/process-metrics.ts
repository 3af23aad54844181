import { createRequire } from 'node:module';
import { collectDefaultMetrics, type Registry } from 'prom-client';

const require = createRequire(import.meta.url);

/**
 * prom-client's default process and Node.js metrics, except `nodejs_gc_duration_seconds`: its
 * observer of every garbage collection cost about 4% of edgelb's CPU time at load (GC share 5%
 * → 9% in a CPU profile). prom-client offers no switch per metric, so each of its collectors
 * (named by its public `metricsList`) is loaded on its own.
 */
export function collectProcessMetrics(registry: Registry): void {
  for (const name of collectDefaultMetrics.metricsList) {
    if (name === 'gc') continue;
    const collect = require(`prom-client/lib/metrics/${name}`) as (registry: Registry, config: object) => void;
    collect(registry, { eventLoopMonitoringPrecision: 10 });
  }
}
