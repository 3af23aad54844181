import type { Logger } from 'pino';
import packageJson from '../../package.json' with { type: 'json' };
import { formatAddress } from '../core/address.ts';
import type { Config } from '../core/config.ts';
import type { HealthStore } from '../core/health-store.ts';
import type { Peer, Pool } from '../core/peer.ts';
import type { Route, RouteTable } from '../core/routing/route-table.ts';
import { peerKey } from '../core/shared-health/keys.ts';
import type { UndiciForwarder } from '../edge/node/undici-forwarder.ts';
import type { NodeListeners } from '../edge/node/listeners.ts';
import { observeAll, type RequestObserver } from '../edge/request-observer.ts';
import { AccessLog } from './access-log.ts';
import { FleetCounts } from './fleet-counts.ts';
import { accessLogTarget } from './daemon-access-log.ts';
import type { AdminServer } from './admin/admin-server.ts';
import type { StatusSources } from './admin/status.ts';
import type { Membership } from '../core/membership.ts';
import type { Metrics } from './metrics.ts';
import type { PeerCounts, WorkerReport } from './process/worker-report.ts';

/** Makes the Observability of one health store; see `Observability.prepare`. */
export type ObservabilityFactory = (store: HealthStore) => Observability;

/** What the admin listener is given besides the edge's parts. */
export interface AdminLinks {
  /** The admin socket when the primary holds it. */
  readonly fd?: number | undefined;
  /** Tells the other workers (through the primary) of a drain made here. */
  readonly onDrain?: ((peer: Peer, drained: boolean) => void) | undefined;
  /** When the balancer (its primary) started, for `/status`. */
  readonly startedAt?: number | undefined;
  /** Every worker's report (through the primary): `/metrics` and `/status` then speak for the whole edge, not this worker. */
  readonly gather?: (() => Promise<readonly WorkerReport[] | 'alone'>) | undefined;
  /** Embedded mode: where `POST /pools/P/peers` adds peers, and whom it tells. Absent: the endpoints say why not. */
  readonly peers?: { readonly membership: Membership; readonly announce?: ((peer: Peer, joined: boolean) => void) | undefined } | undefined;
}

/**
 * What operators see of a running balancer: the access log, the metrics, and the admin
 * listener (status, dashboard, draining) when `admin` is configured.
 */
export class Observability {
  /** Only with an admin listener: without one nobody could read them. */
  readonly metrics: Metrics | undefined;
  readonly observer: RequestObserver | undefined;
  /** With `redis`: what the fleet view says of this process's traffic. */
  readonly fleet: FleetCounts | undefined;
  readonly #config: Config;
  readonly #pools: readonly Pool[];
  readonly #store: HealthStore;
  readonly #log: Logger;
  readonly #accessLog: AccessLog | undefined;
  #forwarder: UndiciForwarder | undefined;
  #listeners: NodeListeners | undefined;
  #admin: AdminServer | undefined;
  #routes: readonly Route[] = [];

  /**
   * Loads what the config asks for (prom-client only with an admin listener), so that the
   * request path and the process's memory carry no metrics nobody can read.
   */
  static async prepare(config: Config, pools: readonly Pool[], log: Logger): Promise<ObservabilityFactory> {
    const metricsModule = config.admin === undefined ? undefined : await import('./metrics.ts');
    return (store) => new Observability(config, pools, store, log, metricsModule?.Metrics);
  }

  private constructor(config: Config, pools: readonly Pool[], store: HealthStore, log: Logger, MetricsClass: typeof Metrics | undefined) {
    this.#config = config;
    this.#pools = pools;
    this.#store = store;
    this.#log = log;
    this.#accessLog = config.access_log === false ? undefined : new AccessLog(accessLogTarget(config.access_log), log, config.access_log_format, config.access_log_time);
    this.metrics = MetricsClass === undefined ? undefined : new MetricsClass(pools, {
      store,
      inFlight: (peer) => this.#inFlight(peer),
      tunnelsOpen: (peer) => this.#tunnelsOpen(peer),
      isEjected: (peer) => this.#forwarder?.outliers.isEjected(peer) ?? false,
      ejections: (peer) => this.#forwarder?.outliers.ejections(peer) ?? 0,
      openConnections: async () => (await this.#listeners?.connectionCount()) ?? 0,
      ...(store.reachable === undefined ? {} : { redisReachable: () => store.reachable ?? false }),
    });
    this.fleet = config.redis === undefined ? undefined : new FleetCounts();
    this.observer = observeAll([this.#accessLog, this.metrics, this.fleet]);
  }

  healthChecked(peer: Peer, latencyMs: number): void {
    this.metrics?.healthChecked(peer, latencyMs);
  }

  /** Starts the admin listener, if configured (on `fd` when the primary holds its socket); resolves with its address. */
  async serve(routes: RouteTable, forwarder: UndiciForwarder, listeners: NodeListeners, links: AdminLinks): Promise<string | undefined> {
    const { fd, onDrain, peers, gather } = links;
    const about = { version: packageJson.version, startedAt: links.startedAt ?? Date.now() };
    this.#forwarder = forwarder;
    this.#listeners = listeners;
    const settings = this.#config.admin;
    const metrics = this.metrics;
    if (settings === undefined || metrics === undefined) return undefined;
    metrics.knowRoutes(routes.routes);
    const [{ AdminServer }, { createAdminApp }, { peerStatus, statusReport }, { statusFigures }] = await Promise.all([
      import('./admin/admin-server.ts'), import('./admin/app.ts'), import('./admin/status.ts'), import('./admin/status-figures.ts'),
    ]);
    const sources: StatusSources = {
      store: this.#store,
      inFlight: (peer) => this.#inFlight(peer),
      tunnelsOpen: (peer) => this.#tunnelsOpen(peer),
      isEjected: (peer) => this.#forwarder?.outliers.isEjected(peer) ?? false,
      requestsServed: (peer) => metrics.requestsServed(peer),
      requestsRouted: (route) => metrics.requestsRouted(route),
    };
    this.#routes = routes.routes;
    const ofPresentPeers = (all: WorkerReport['metrics']) => this.#ofPresentPeers(all);
    const everyWorker = async (): Promise<readonly WorkerReport[] | 'alone'> => (gather === undefined ? 'alone' : gather());
    const app = createAdminApp({
      pools: this.#pools,
      token: settings.token,
      async metrics() {
        const reports = await everyWorker();
        if (reports === 'alone') return { body: await metrics.registry.metrics(), contentType: metrics.registry.contentType };
        const { AggregatorRegistry } = await import('prom-client');
        const merged = AggregatorRegistry.aggregate(reports.map((report) => ofPresentPeers(report.metrics)) as object[]);
        return { body: await merged.metrics(), contentType: merged.contentType };
      },
      status: async () => {
        const reports = await everyWorker();
        if (reports === 'alone') {
          const figures = statusFigures(await metrics.registry.getMetricsAsJSON() as unknown as WorkerReport['metrics']);
          return statusReport(routes.routes, this.#pools, sources, about, figures);
        }
        const { mergeReports } = await import('./process/worker-report.ts');
        const { peers: counts, routes: routed, metrics: merged } = await mergeReports(reports);
        const of = (peer: Peer) => counts[peerKey(peer)];
        return statusReport(routes.routes, this.#pools, {
          ...sources,
          inFlight: (peer) => of(peer)?.inFlight ?? 0,
          tunnelsOpen: (peer) => of(peer)?.tunnels ?? 0,
          requestsServed: (peer) => of(peer)?.requests ?? 0,
          requestsRouted: (route) => routed[route?.name ?? ''] ?? 0,
        }, about, statusFigures(merged));
      },
      peerStatus: (peer) => peerStatus(peer, sources),
      peers: peers === undefined ? undefined : {
        add: (pool, spec) => {
          const peer = peers.membership.add(pool, spec, 'admin');
          if (peer !== undefined) peers.announce?.(peer, true);
          return peer;
        },
        remove: (peer) => {
          const inFlight = this.#inFlight(peer);
          if (peers.membership.remove(peer.pool, peer.id, 'admin') === undefined) return undefined;
          peers.announce?.(peer, false);
          return inFlight;
        },
      },
      setDrained: (peer, drained) => {
        if (drained !== this.#store.isDrained(peer)) {
          this.#log.info({ pool: peer.pool, peer: peer.id, inFlight: this.#inFlight(peer) }, drained ? 'peer drained' : 'peer undrained');
        }
        this.#store.setDrained(peer, drained);
        onDrain?.(peer, drained);
      },
    });
    this.#admin = await AdminServer.open(app, settings.listen, fd);
    const bound = this.#admin.address();
    return formatAddress({ host: bound.address, port: bound.port });
  }

  /** What this worker counted (metrics, per peer and per route), for the admin's views of every worker. */
  async report(): Promise<WorkerReport | undefined> {
    const metrics = this.metrics;
    if (metrics === undefined) return undefined;
    const peers: Record<string, PeerCounts> = {};
    for (const pool of this.#pools) {
      for (const peer of pool.peers) {
        peers[peerKey(peer)] = { inFlight: this.#inFlight(peer), tunnels: this.#tunnelsOpen(peer), requests: metrics.requestsServed(peer) };
      }
    }
    const routes: Record<string, number> = { '': metrics.requestsRouted(undefined) };
    for (const route of this.#routes) routes[route.name] = metrics.requestsRouted(route);
    return { metrics: await metrics.registry.getMetricsAsJSON() as unknown as WorkerReport['metrics'], peers, routes };
  }

  /**
   * The series of peers still in their pools (and those of no peer): what a stopped worker left
   * must not bring back the series of a peer that has left since.
   */
  #ofPresentPeers(metrics: WorkerReport['metrics']): WorkerReport['metrics'] {
    const present = new Set(this.#pools.flatMap((pool) => pool.peers.map(peerKey)));
    return metrics.map((metric) => ({
      ...metric,
      values: metric.values.filter(({ labels }) => labels.peer === undefined || labels.peer === '' || present.has(peerKey({ pool: String(labels.pool), id: String(labels.peer) }))),
    }));
  }

  /** Stops the admin listener: while this process drains, another (a reload's, an upgrade's) answers. */
  async closeAdmin(): Promise<void> {
    await this.#admin?.close();
    this.#admin = undefined;
  }

  async close(): Promise<void> {
    await this.closeAdmin();
    await this.#accessLog?.close();
  }

  #inFlight(peer: Peer): number {
    return this.#forwarder?.inFlight(peer) ?? 0;
  }

  #tunnelsOpen(peer: Peer): number {
    return this.#forwarder?.tunnels.count(peer) ?? 0;
  }
}

