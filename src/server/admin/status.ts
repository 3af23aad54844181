import type { HealthStore } from '../../core/health-store.ts';
import { inRotation } from '../../core/health.ts';
import type { Peer, PeerSource, Pool } from '../../core/peer.ts';
import type { Route } from '../../core/routing/route-table.ts';
import { peerKey } from '../../core/shared-health/keys.ts';
import type { StatusFigures } from './status-figures.ts';

/** One peer as an operator's table shows it. Times are ISO 8601; null where nothing is known yet. */
export interface PeerStatus {
  readonly id: string;
  /** Where the peer comes from (`config`, `redis`), and since when (ISO date). */
  readonly source: PeerSource;
  readonly addedAt: string;
  /**
   * `draining`: taken out of rotation by an operator, whatever its health; `ejected`: passing its
   * checks but out for failing real requests (`outlier_detection`).
   */
  readonly state: 'up' | 'down' | 'draining' | 'ejected';
  readonly healthy: boolean;
  readonly drained: boolean;
  /** Out of rotation for failing real requests, by this process's outlier detection. */
  readonly ejected: boolean;
  /** When the peer's health last changed. */
  readonly since: string | null;
  readonly checkedAt: string | null;
  readonly latencyMs: number | null;
  /** Why the last check failed. */
  readonly reason: string | null;
  /** Requests sent or queued to the peer and not finished. */
  readonly inFlight: number;
  /** WebSocket and other Upgrade tunnels open to the peer (counted in `inFlight` too). */
  readonly tunnels: number;
  /** Requests the peer answered since edgelb started, and how many of them with a 5xx. */
  readonly requests: number;
  readonly errors: number;
  /** Requests by upstream latency (time to the response head), cumulative per `latencyBoundsMs` bucket, the last +Inf. */
  readonly latencyBuckets: readonly number[];
}

export interface PoolStatus {
  readonly name: string;
  readonly peers: readonly PeerStatus[];
}

/** A route as `/status` lists it, in the order routes are tried. */
export interface RouteStatus {
  readonly name: string;
  readonly pool: string;
  /** The host it matches (`*.example.com` for a wildcard); null for any host. */
  readonly host: string | null;
  readonly path: string;
  readonly methods: readonly string[] | null;
  /** Requests it took since edgelb started, and how many were answered with a 5xx. */
  readonly requests: number;
  readonly errors: number;
}

export interface StatusReport {
  readonly time: string;
  readonly version: string;
  /** When the balancer (its primary) started. */
  readonly startedAt: string;
  /** The upper bounds of the peers' `latencyBuckets`, in ms. */
  readonly latencyBoundsMs: readonly number[];
  readonly routes: readonly RouteStatus[];
  /** Requests no route took (answered 404) since edgelb started. */
  readonly unrouted: number;
  readonly pools: readonly PoolStatus[];
}

export interface StatusSources {
  readonly store: HealthStore;
  inFlight(peer: Peer): number;
  tunnelsOpen(peer: Peer): number;
  isEjected(peer: Peer): boolean;
  requestsServed(peer: Peer): number;
  requestsRouted(route: Route | undefined): number;
}

export function peerStatus(peer: Peer, sources: StatusSources, figures?: StatusFigures): PeerStatus {
  const state = sources.store.state(peer);
  const drained = sources.store.isDrained(peer);
  const healthy = inRotation(peer, state?.up);
  const ejected = sources.isEjected(peer);
  const figured = figures?.peers.get(peerKey(peer));
  return {
    id: peer.id,
    source: peer.source,
    addedAt: new Date(peer.addedAt).toISOString(),
    state: drained ? 'draining' : !healthy ? 'down' : ejected ? 'ejected' : 'up',
    healthy,
    drained,
    ejected,
    since: state ? new Date(state.since).toISOString() : null,
    checkedAt: state ? new Date(state.checkedAt).toISOString() : null,
    latencyMs: state ? Math.round(state.latencyMs * 1000) / 1000 : null,
    reason: state?.reason ?? (healthy ? null : 'not checked yet'),
    inFlight: sources.inFlight(peer),
    tunnels: sources.tunnelsOpen(peer),
    requests: sources.requestsServed(peer),
    errors: figured?.errors ?? 0,
    latencyBuckets: figured?.latencyBuckets ?? [],
  };
}

/** What `/status` says of the balancer itself. */
export interface AboutEdge {
  readonly version: string;
  readonly startedAt: number;
}

export function statusReport(routes: readonly Route[], pools: readonly Pool[], sources: StatusSources, about: AboutEdge, figures?: StatusFigures): StatusReport {
  return {
    time: new Date().toISOString(),
    version: about.version,
    startedAt: new Date(about.startedAt).toISOString(),
    latencyBoundsMs: figures?.latencyBoundsMs ?? [],
    routes: routes.map((route) => ({
      name: route.name,
      pool: route.pool.name,
      host: route.host === undefined ? null : route.host.kind === 'exact' ? route.host.name : `*${route.host.suffix}`,
      path: route.path,
      methods: route.methods === undefined ? null : [...route.methods],
      requests: sources.requestsRouted(route),
      errors: figures?.routeErrors.get(route.name) ?? 0,
    })),
    unrouted: sources.requestsRouted(undefined),
    pools: pools.map((pool) => ({ name: pool.name, peers: pool.peers.map((peer) => peerStatus(peer, sources, figures)) })),
  };
}
