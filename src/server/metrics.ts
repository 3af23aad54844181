import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HealthStore } from '../core/health-store.ts';
import type { Peer, Pool } from '../core/peer.ts';
import type { Route } from '../core/routing/route-table.ts';
import type { Exchange } from '../edge/exchange.ts';
import type { RequestObserver } from '../edge/request-observer.ts';
import { collectProcessMetrics } from './process-metrics.ts';

/** Where the gauges read their values when Prometheus scrapes (nothing is kept up to date for them). */
export interface MetricSources {
  readonly store: HealthStore;
  inFlight(peer: Peer): number;
  tunnelsOpen(peer: Peer): number;
  isEjected(peer: Peer): boolean;
  ejections(peer: Peer): number;
  openConnections(): Promise<number>;
  /** With `redis`: whether Redis answers (the gauge exists only then). */
  redisReachable?(): boolean;
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

type RequestLabels = { route: string; pool: string; peer: string; status_class: string };

/**
 * Label sets made once per peer (or per pool, for requests no peer took, or for requests no
 * route took), and per route and status class on first use, then reused on every request.
 */
interface Labels {
  readonly peer: { pool: string; peer: string };
  readonly byRoute: Map<Route | undefined, { readonly byStatusClass: readonly RequestLabels[]; requests: number }>;
  /** Requests answered, for the dashboard's requests per second. */
  requests: number;
}

/**
 * edgelb's Prometheus metrics (prom-client), named by Prometheus conventions: `edgelb_` prefix,
 * base units (seconds), `_total` counters. Per request it does two label-cached updates; every
 * gauge is read from its source only when scraped.
 */
export class Metrics implements RequestObserver {
  readonly registry = new Registry();
  readonly #labels = new Map<Peer | Pool | undefined, Labels>([[undefined, labelsFor('', '')]]);
  readonly #requests: Counter<'route' | 'pool' | 'peer' | 'status_class'>;
  readonly #upstreamLatency: Histogram<'pool' | 'peer'>;
  readonly #retries: Counter<'pool'>;
  readonly #checkDuration: Histogram<'pool' | 'peer'>;
  readonly #configReloads: Counter;
  readonly #tunnelDuration: Histogram<'pool' | 'peer'>;
  readonly #tunnelBytes: Counter<'pool' | 'peer' | 'direction'>;
  #routes: readonly Route[] = [];

  constructor(pools: readonly Pool[], sources: MetricSources) {
    const registers = [this.registry];
    // Peers come and go: every collection reads the pools' peers as they are then.
    const peers = () => pools.flatMap((pool) => pool.peers);
    for (const pool of pools) this.#labels.set(pool, labelsFor(pool.name, ''));
    this.#requests = new Counter({
      name: 'edgelb_requests_total',
      help: 'Requests answered, by route and pool (empty when no route took the request), peer (empty when none was tried) and status class.',
      labelNames: ['route', 'pool', 'peer', 'status_class'],
      registers,
    });
    this.#upstreamLatency = new Histogram({
      name: 'edgelb_upstream_latency_seconds',
      help: 'Time from sending a request to a peer until its response head arrived.',
      labelNames: ['pool', 'peer'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#retries = new Counter({
      name: 'edgelb_retries_total',
      help: 'Requests sent on to a further peer after a connection failure.',
      labelNames: ['pool'],
      registers,
    });
    this.#checkDuration = new Histogram({
      name: 'edgelb_health_check_duration_seconds',
      help: 'How long health checks took, passed or failed.',
      labelNames: ['pool', 'peer'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    // Tunnels have metrics of their own: their lifetimes (seconds to days) would swamp the
    // request latencies, and their bytes arrive long after the request was counted.
    this.#tunnelDuration = new Histogram({
      name: 'edgelb_tunnel_duration_seconds',
      help: 'How long WebSocket and other Upgrade tunnels stayed open, from the request to their end.',
      labelNames: ['pool', 'peer'],
      buckets: [1, 10, 60, 300, 1800, 3600, 4 * 3600, 24 * 3600],
      registers,
    });
    this.#tunnelBytes = new Counter({
      name: 'edgelb_tunnel_bytes_total',
      help: 'Bytes through ended tunnels, by direction: "in" from the client, "out" to it.',
      labelNames: ['pool', 'peer', 'direction'],
      registers,
    });
    for (const pool of pools) this.#retries.inc({ pool: pool.name }, 0);
    for (const peer of peers()) this.peerAdded(peer);
    // Every worker knows the edge's count: merged over workers, the largest, not the sum.
    this.#configReloads = new Counter({ name: 'edgelb_config_reloads_total', help: 'Configuration reloads applied.', registers, aggregator: 'max' });
    new Gauge({
      name: 'edgelb_open_connections',
      help: 'Client connections open on the listeners.',
      registers,
      async collect() {
        this.set(await sources.openConnections());
      },
    });
    // `max`: a state every worker shares (health, drains, ejections), merged over workers; the counts are summed.
    const perPeer = (name: string, help: string, value: (peer: Peer) => number, aggregator: 'sum' | 'max' = 'sum') =>
      new Gauge({
        name,
        help,
        labelNames: ['pool', 'peer'],
        registers,
        aggregator,
        collect() {
          this.reset();
          for (const peer of peers()) this.set({ pool: peer.pool, peer: peer.id }, value(peer));
        },
      });
    perPeer('edgelb_peer_healthy', 'Whether the peer passes its health checks (1) or not (0).', (peer) =>
      (sources.store.state(peer)?.up === false ? 0 : 1), 'max');
    perPeer('edgelb_peer_drained', 'Whether the peer is drained: out of rotation by an operator (1) or not (0).', (peer) =>
      (sources.store.isDrained(peer) ? 1 : 0), 'max');
    perPeer('edgelb_upstream_requests_in_flight', 'Requests sent or queued to the peer and not finished.', (peer) => sources.inFlight(peer));
    perPeer('edgelb_peer_ejected', 'Whether the peer is ejected for failing real requests (1) or not (0), by outlier_detection.', (peer) =>
      (sources.isEjected(peer) ? 1 : 0), 'max');
    const counted = new Map<Peer, number>();
    new Counter({
      name: 'edgelb_peer_ejections_total',
      help: 'Times the peer was ejected by outlier_detection.',
      labelNames: ['pool', 'peer'],
      registers,
      // Every worker takes out a peer another ejected: each counts the edge's ejections.
      aggregator: 'max',
      collect() {
        for (const peer of peers()) {
          const total = sources.ejections(peer);
          this.inc({ pool: peer.pool, peer: peer.id }, total - (counted.get(peer) ?? 0));
          counted.set(peer, total);
        }
      },
    });
    perPeer('edgelb_tunnels_open', 'WebSocket and other Upgrade tunnels open to the peer.', (peer) => sources.tunnelsOpen(peer));
    const redisReachable = sources.redisReachable;
    if (redisReachable !== undefined) {
      new Gauge({
        name: 'edgelb_redis_connected',
        help: 'Whether Redis, where the shared health lives, answers (1) or not (0).',
        registers,
        // Merged over workers: 0 when any worker cannot reach it.
        aggregator: 'min',
        collect() {
          this.set(redisReachable() ? 1 : 0);
        },
      });
    }
    collectProcessMetrics(this.registry);
    // Gauges named like counters, which Prometheus's linter rejects; `nodejs_active_handles`
    // and its siblings carry the same numbers by type.
    for (const misnamed of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(misnamed);
    }
  }

  /**
   * Makes every request series the routes can produce (each route's pool, and each of its peers,
   * by status class; the requests no route took) at 0, so that `rate()` and alerts over them work
   * before the first request of each kind.
   */
  knowRoutes(routes: readonly Route[]): void {
    this.#routes = routes;
    for (const route of routes) {
      for (const key of [route.pool, ...route.pool.peers]) {
        const labels = this.#labels.get(key);
        if (labels !== undefined) this.#routed(labels, route);
      }
    }
    this.#routed(this.#labels.get(undefined)!, undefined);
  }

  #routed(labels: Labels, route: Route | undefined): { readonly byStatusClass: readonly RequestLabels[]; requests: number } {
    let routed = labels.byRoute.get(route);
    if (routed === undefined) {
      const { pool, peer } = labels.peer;
      routed = { byStatusClass: STATUS_CLASSES.map((statusClass) => ({ route: route?.name ?? '', pool, peer, status_class: statusClass })), requests: 0 };
      for (const series of routed.byStatusClass) this.#requests.inc(series, 0);
      labels.byRoute.set(route, routed);
    }
    return routed;
  }

  /** The peer's series, at 0 from the start, so `rate()` over them works before the first request or tunnel. */
  peerAdded(peer: Peer): void {
    const labels = labelsFor(peer.pool, peer.id);
    this.#labels.set(peer, labels);
    this.#upstreamLatency.zero(labels.peer);
    this.#checkDuration.zero(labels.peer);
    this.#tunnelDuration.zero(labels.peer);
    for (const direction of ['in', 'out']) this.#tunnelBytes.inc({ ...labels.peer, direction }, 0);
    for (const route of this.#routes) if (route.pool.name === peer.pool) this.#routed(labels, route);
  }

  /** A peer that left takes its series with it: a fleet whose peers come and go keeps no dead ones. */
  peerRemoved(peer: Peer): void {
    const labels = this.#labels.get(peer);
    if (labels === undefined) return;
    this.#labels.delete(peer);
    this.#upstreamLatency.remove(labels.peer);
    this.#checkDuration.remove(labels.peer);
    this.#tunnelDuration.remove(labels.peer);
    for (const direction of ['in', 'out']) this.#tunnelBytes.remove({ ...labels.peer, direction });
    for (const routed of labels.byRoute.values()) for (const series of routed.byStatusClass) this.#requests.remove(series);
  }

  requestDone(exchange: Exchange): void {
    const labels = this.#labels.get(exchange.peer ?? exchange.pool);
    if (labels === undefined) return;
    labels.requests++;
    const routed = this.#routed(labels, exchange.route);
    routed.requests++;
    const statusClass = routed.byStatusClass[Math.floor(exchange.status / 100) - 1];
    if (statusClass !== undefined) this.#requests.inc(statusClass, 1);
    if (exchange.upstreamHeaderMs >= 0) this.#upstreamLatency.observe(labels.peer, exchange.upstreamHeaderMs / 1000);
    if (exchange.attempts > 1) this.#retries.inc({ pool: labels.peer.pool }, exchange.attempts - 1);
    if (exchange.tunnelEnd !== undefined) {
      this.#tunnelDuration.observe(labels.peer, (performance.now() - exchange.startedAt) / 1000);
      this.#tunnelBytes.inc({ ...labels.peer, direction: 'in' }, exchange.bytesIn);
      this.#tunnelBytes.inc({ ...labels.peer, direction: 'out' }, exchange.bytesOut);
    }
  }

  /** Requests answered by the peer since start. */
  requestsServed(peer: Peer): number {
    return this.#labels.get(peer)?.requests ?? 0;
  }

  /** Requests the route took since start (undefined: the requests no route took). */
  requestsRouted(route: Route | undefined): number {
    let sum = 0;
    for (const labels of this.#labels.values()) sum += labels.byRoute.get(route)?.requests ?? 0;
    return sum;
  }

  healthChecked(peer: Peer, latencyMs: number): void {
    const labels = this.#labels.get(peer);
    if (labels !== undefined) this.#checkDuration.observe(labels.peer, latencyMs / 1000);
  }

  configReloaded(count = 1): void {
    this.#configReloads.inc(count);
  }

}

function labelsFor(pool: string, peer: string): Labels {
  return { peer: { pool, peer }, byRoute: new Map(), requests: 0 };
}
