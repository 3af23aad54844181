import type { HealthStore } from '../../core/health-store.ts';
import { inRotation } from '../../core/health.ts';
import type { Peer, PeerSource, Pool } from '../../core/peer.ts';
import type { Route } from '../../core/routing/route-table.ts';

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
  /** Requests the peer answered since edgelb started. */
  readonly requests: number;
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
  /** Requests it took since edgelb started. */
  readonly requests: number;
}

export interface StatusReport {
  readonly time: string;
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

export function peerStatus(peer: Peer, sources: StatusSources): PeerStatus {
  const state = sources.store.state(peer);
  const drained = sources.store.isDrained(peer);
  const healthy = inRotation(peer, state?.up);
  const ejected = sources.isEjected(peer);
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
  };
}

export function statusReport(routes: readonly Route[], pools: readonly Pool[], sources: StatusSources): StatusReport {
  return {
    time: new Date().toISOString(),
    routes: routes.map((route) => ({
      name: route.name,
      pool: route.pool.name,
      host: route.host === undefined ? null : route.host.kind === 'exact' ? route.host.name : `*${route.host.suffix}`,
      path: route.path,
      methods: route.methods === undefined ? null : [...route.methods],
      requests: sources.requestsRouted(route),
    })),
    unrouted: sources.requestsRouted(undefined),
    pools: pools.map((pool) => ({ name: pool.name, peers: pool.peers.map((peer) => peerStatus(peer, sources)) })),
  };
}
