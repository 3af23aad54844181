import type { Logger } from 'pino';
import packageJson from '../../package.json' with { type: 'json' };
import { redisLocation } from '../core/redis-url.ts';
import type { Config } from '../core/config.ts';
import { formatAddress } from '../core/address.ts';
import { MAX_DURATION_MS } from '../core/duration.ts';
import { describeError } from '../core/errors.ts';
import type { HealthStore } from '../core/health-store.ts';
import { Membership } from '../core/membership.ts';
import { membershipLog } from '../core/membership-log.ts';
import { buildPools, findPeer, type Pool } from '../core/peer.ts';
import { OutlierDetection } from '../edge/outlier-detection.ts';
import { peerEntry, type DrainEntry, type EjectionEntry, type PeerEntry } from './process/messages.ts';
import type { WorkerReport } from './process/worker-report.ts';
import { buildRoutes } from '../core/routing/build-routes.ts';
import { createBalancer } from '../edge/balancer.ts';
import { UndiciForwarder } from '../edge/node/undici-forwarder.ts';
import { NodeListeners } from '../edge/node/listeners.ts';
import type { ProbeEvents } from '../prober/scheduler.ts';
import { DnsDiscovery } from '../store/dns-discovery.ts';
import { startHealth } from './health-source.ts';
import { Observability } from './observability.ts';
import type { HealthMirror } from './process/health-relay.ts';
import { upstreamTlsByPool } from './upstream-tls.ts';

/** How much longer than the slowest peer's read timeout a client connection may stay idle. */
const CLIENT_IDLE_MARGIN_MS = 1_000;

/** Longer than any pool's read timeout, or none when a pool waits without limit (0). */
function clientIdleTimeout(pools: readonly Pool[]): number {
  const readTimeouts = pools.map((pool) => pool.config.read_timeout);
  if (readTimeouts.includes(0)) return 0;
  return Math.min(Math.max(...readTimeouts) + CLIENT_IDLE_MARGIN_MS, MAX_DURATION_MS);
}

/** With `redis`: this process's summary in the fleet view, every few seconds. */
async function startFleetWriter(config: Config, observability: Observability, pools: readonly Pool[], forwarder: UndiciForwarder) {
  const counts = observability.fleet;
  const location = config.redis === undefined ? undefined : redisLocation(config.redis);
  if (counts === undefined || location === undefined || 'error' in location) return undefined;
  const { FleetWriter } = await import('../store/fleet-writer.ts');
  const writer = new FleetWriter(location, config.redis_prefix, packageJson.version, {
    requests: () => counts.requests,
    errors: () => counts.errors,
    inFlight: () => pools.reduce((sum, pool) => sum + pool.peers.reduce((n, peer) => n + forwarder.inFlight(peer), 0), 0),
  });
  writer.start();
  return writer;
}

/** The edge serving in a worker process; `stop` is the graceful shutdown. */
export interface RunningEdge {
  stop(): Promise<{ forced: boolean }>;
  /** Takes out a peer another worker of this edge ejected. */
  adoptEjection(entry: EjectionEntry): void;
  /** A drain made through another worker's admin listener, or held from before a reload. */
  applyDrain(entry: DrainEntry): void;
  /** What this worker counted, for the admin's views of every worker; undefined without an admin listener. */
  report(): Promise<WorkerReport | undefined>;
  /** Re-reads the TLS listeners' certificate files (a broken one is logged and the old one kept). */
  reloadCertificates(): Promise<void>;
}

/** What the edge in a worker process gets from its primary. */
export interface FromPrimary {
  /** The listening sockets the primary holds, inherited as fds, in `listen` order. */
  readonly listenFds: readonly number[];
  /** The admin listener's socket, when `admin` is configured. */
  readonly adminFd?: number | undefined;
  /** The pools' peers as the primary sends them (embedded mode: it decides who joins and leaves). */
  readonly membership?: Membership;
  /** Embedded mode: the primary's health verdicts, mirrored. Absent with `redis`: the worker follows Redis itself. */
  readonly mirror?: HealthMirror | undefined;
  /** Configuration reloads so far (a reload starts new workers; the count carries over). */
  readonly reloads?: number;
  /** Tells the other workers of this edge about a peer this one ejected. */
  readonly announceEjection?: (entry: EjectionEntry) => void;
  /** Embedded mode: the drains the primary holds, and how to tell it of a new one. */
  readonly drains?: { readonly held: readonly DrainEntry[]; announce(entry: DrainEntry): void } | undefined;
  /** When the primary started: the balancer's uptime. */
  readonly startedAt?: number;
  /** Ejections still running when this worker starts (made before a reload). */
  readonly ejected?: readonly EjectionEntry[];
  /** Every worker's report, through the primary, for the admin's views (`alone`: this worker's own view is the edge's). */
  readonly gather?: () => Promise<readonly WorkerReport[] | 'alone'>;
  /** Embedded mode: how to tell the primary of a peer added or removed through the admin API. */
  readonly peers?: { announce(entry: PeerEntry, joined: boolean): void } | undefined;
}

/**
 * Builds the edge in a worker process and serves it: the health store, observability, the undici
 * forwarder, the balancer and the listeners. Health comes from the primary's prober (embedded
 * mode) or from the shared health in Redis; either way it is known before the listeners accept,
 * so the first request already sees it.
 */
export async function serveEdge(config: Config, log: Logger, fromPrimary: FromPrimary): Promise<RunningEdge> {
  const membership = fromPrimary.membership ?? new Membership(buildPools(config.upstreams));
  const pools = membership.pools;
  membership.listen(membershipLog(log));
  const upstreamTls = upstreamTlsByPool(pools);
  const routes = buildRoutes(config.routes, pools, config.limits.max_body_size);
  const observabilityFor = await Observability.prepare(config, pools, log);
  let observability!: Observability;
  const watch = (store: HealthStore): ProbeEvents => {
    observability = observabilityFor(store);
    return { onCheck: (peer, state) => observability.healthChecked(peer, state.latencyMs) };
  };
  // With redis every worker looks DNS names up itself; in embedded mode the primary does, and sends the peers.
  const dns = fromPrimary.mirror === undefined ? new DnsDiscovery(membership, log) : undefined;
  if (dns?.wanted) await dns.start();
  const health = fromPrimary.mirror !== undefined ? fromPrimary.mirror.source(watch) : await startHealth(config, membership, log, upstreamTls, watch);
  const store = health.store;
  const applyDrain = (entry: DrainEntry) => {
    const peer = findPeer(pools, entry.pool, entry.peer);
    if (peer !== undefined) store.setDrained(peer, entry.drained);
  };
  // Before any listener accepts, so no request reaches a peer an operator drained.
  for (const entry of fromPrimary.drains?.held ?? []) applyDrain(entry);
  observability.metrics?.configReloaded(fromPrimary.reloads ?? 0);
  const announce = fromPrimary.announceEjection;
  const outliers = new OutlierDetection(log, undefined, announce === undefined ? undefined : (peer, until) => announce({ pool: peer.pool, peer: peer.id, until }));
  for (const entry of fromPrimary.ejected ?? []) {
    const peer = findPeer(pools, entry.pool, entry.peer);
    if (peer !== undefined) outliers.adopt(peer, entry.until);
  }
  const forwarder = new UndiciForwarder(pools, log, config.limits, upstreamTls, outliers);
  membership.listen(forwarder);
  if (observability.metrics !== undefined) membership.listen(observability.metrics);
  const app = createBalancer({ routes, store, forwarder, log, observer: observability.observer });
  let listeners: NodeListeners;
  let admin: string | undefined;
  try {
    listeners = await NodeListeners.open(app, config.listen, {
      log, clientIdleTimeoutMs: clientIdleTimeout(pools), limits: config.limits, listenFds: fromPrimary.listenFds,
    });
    const announceDrain = fromPrimary.drains?.announce;
    const announcePeer = fromPrimary.peers?.announce;
    admin = await observability.serve(routes, forwarder, listeners, {
      fd: fromPrimary.adminFd,
      gather: fromPrimary.gather,
      startedAt: fromPrimary.startedAt,
      onDrain: announceDrain === undefined ? undefined : (peer, drained) => announceDrain({ pool: peer.pool, peer: peer.id, drained }),
      // Peers are added here in embedded mode only: with redis, `edgelb register` adds them.
      peers: config.redis !== undefined ? undefined : {
        membership,
        announce: announcePeer === undefined ? undefined : (peer, joined) => announcePeer(peerEntry(peer), joined),
      },
    }).catch(async (error: unknown) => {
      await listeners.close(0);
      throw new Error(`admin.listen: ${describeError(error)}`);
    });
  } catch (error) {
    dns?.stop();
    await health.stop();
    await forwarder.close();
    await observability.close();
    throw error;
  }
  const fleet = await startFleetWriter(config, observability, pools, forwarder);
  log.info(
    {
      listen: listeners.addresses().map((a) => formatAddress({ host: a.address, port: a.port })),
      pools: Object.fromEntries(pools.map((pool) => [pool.name, pool.peers.map((peer) => peer.id)])),
      admin,
    },
    'worker serving',
  );
  return {
    async stop() {
      await observability.closeAdmin();
      await fleet?.stop();
      dns?.stop();
      await health.stop();
      forwarder.drain();
      const closing = listeners.close(config.grace_period_seconds * 1000);
      // The listening sockets are closed here by now: new connections go to other processes.
      log.info({ openConnections: await listeners.connectionCount() }, 'worker draining: no new connections');
      const result = await closing;
      await forwarder.close({ force: result.forced });
      await observability.close();
      return result;
    },
    reloadCertificates: () => listeners.reloadCertificates(),
    report: () => observability.report(),
    adoptEjection(entry) {
      const peer = findPeer(pools, entry.pool, entry.peer);
      if (peer !== undefined) outliers.adopt(peer, entry.until);
    },
    applyDrain,
  };
}
