import type { Logger } from 'pino';
import { formatAddress } from '../core/address.ts';
import type { Config } from '../core/config.ts';
import type { HealthStore } from '../core/health-store.ts';
import type { Peer, Pool } from '../core/peer.ts';
import type { NodeForwarder } from '../edge/node-forwarder.ts';
import type { NodeListeners } from '../edge/node.ts';
import { observeAll, type RequestObserver } from '../edge/request-observer.ts';
import { RedisHealthStore } from '../store/redis-health-store.ts';
import { AccessLog } from './access-log.ts';
import { AdminServer } from './admin/admin-server.ts';
import { createAdminApp } from './admin/app.ts';
import { peerStatus, statusReport, type StatusSources } from './admin/status.ts';
import { Metrics } from './metrics.ts';

/**
 * What operators see of a running balancer: the access log, the metrics, and the admin
 * listener (status, dashboard, draining) when `admin` is configured.
 */
export class Observability {
  readonly metrics: Metrics;
  readonly observer: RequestObserver | undefined;
  readonly #config: Config;
  readonly #pools: readonly Pool[];
  readonly #store: HealthStore;
  readonly #log: Logger;
  readonly #accessLog: AccessLog | undefined;
  #forwarder: NodeForwarder | undefined;
  #listeners: NodeListeners | undefined;
  #admin: AdminServer | undefined;

  constructor(config: Config, pools: readonly Pool[], store: HealthStore, log: Logger) {
    this.#config = config;
    this.#pools = pools;
    this.#store = store;
    this.#log = log;
    this.#accessLog = config.access_log === false ? undefined : new AccessLog(config.access_log, log);
    this.metrics = new Metrics(pools, {
      store,
      inFlight: (peer) => this.#inFlight(peer),
      openConnections: async () => (await this.#listeners?.connectionCount()) ?? 0,
      ...(store instanceof RedisHealthStore ? { redisReachable: () => store.reachable } : {}),
    });
    // Without an admin listener nobody can read the metrics: keep them off the request path.
    this.observer = observeAll([this.#accessLog, config.admin === undefined ? undefined : this.metrics]);
  }

  healthChecked(peer: Peer, latencyMs: number): void {
    this.metrics.healthChecked(peer, latencyMs);
  }

  /** Starts the admin listener, if configured (on `fd` when the primary holds its socket); resolves with its address. */
  async serve(forwarder: NodeForwarder, listeners: NodeListeners, fd?: number): Promise<string | undefined> {
    this.#forwarder = forwarder;
    this.#listeners = listeners;
    const settings = this.#config.admin;
    if (settings === undefined) return undefined;
    const sources: StatusSources = {
      store: this.#store,
      inFlight: (peer) => this.#inFlight(peer),
      requestsServed: (peer) => this.metrics.requestsServed(peer),
    };
    const app = createAdminApp({
      pools: this.#pools,
      token: settings.token,
      registry: this.metrics.registry,
      status: () => statusReport(this.#pools, sources),
      peerStatus: (peer) => peerStatus(peer, sources),
      setDrained: (peer, drained) => {
        if (drained !== this.#store.isDrained(peer)) {
          this.#log.info({ pool: peer.pool, peer: peer.id, inFlight: this.#inFlight(peer) }, drained ? 'peer drained' : 'peer undrained');
        }
        this.#store.setDrained(peer, drained);
      },
    });
    this.#admin = await AdminServer.open(app, settings.listen, fd);
    const bound = this.#admin.address();
    return formatAddress({ host: bound.address, port: bound.port });
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
}
