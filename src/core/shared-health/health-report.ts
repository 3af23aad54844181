import { inRotation, type PeerState } from '../health.ts';
import type { PeerSource, Pool } from '../peer.ts';
import { FLEET_GONE_AFTER_MS, type EdgeSummary } from './fleet.ts';
import { peerKey } from './keys.ts';
import type { SharedHealthSnapshot } from './snapshot.ts';
import { countVotes, summarize, verdict, type Votes } from './vote.ts';

/**
 * What `edgelb status --json` prints, as plain data: any reader of the shared store (the CLI,
 * an admin API) produces this shape, and renderers only format it.
 */
export interface HealthReport {
  readonly generatedAt: number;
  /** No live prober: edges serve the last set they knew, which nobody is checking. */
  readonly stale: boolean;
  readonly probers: readonly ProberReport[];
  readonly pools: readonly PoolReport[];
  /** The fleet view: each edge process's last summary, and whether it is still writing them. */
  readonly edges: ReadonlyArray<EdgeSummary & { readonly live: boolean }>;
}

export interface ProberReport {
  readonly id: string;
  readonly live: boolean;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly lastSeen: number;
}

export interface PoolReport {
  readonly name: string;
  readonly peers: readonly PeerReport[];
}

export interface PeerReport {
  readonly id: string;
  /** Where the peer comes from (`config`, `redis`) and since when (a registration's start). */
  readonly source: PeerSource;
  readonly addedAt: number;
  /** The majority verdict of the live probers; `unknown` when none has checked the peer. */
  readonly state: 'up' | 'down' | 'unknown';
  readonly drained: boolean;
  /** In rotation: not down and not drained (a configured peer never checked is in rotation). */
  readonly inRotation: boolean;
  readonly since?: number;
  readonly checkedAt?: number;
  readonly latencyMs?: number;
  readonly reason?: string;
  readonly votes: Votes;
  /** Each live prober's own view, by prober id. */
  readonly views: Readonly<Record<string, PeerState>>;
}

export function buildHealthReport(pools: readonly Pool[], snapshot: SharedHealthSnapshot, now: number, edges: readonly EdgeSummary[] = []): HealthReport {
  const live = snapshot.probers.filter((prober) => prober.live).map((prober) => prober.id);
  return {
    generatedAt: now,
    edges: [...edges].sort((a, b) => a.edge.localeCompare(b.edge) || a.pid - b.pid).map((edge) => ({ ...edge, live: now - edge.lastSeen < FLEET_GONE_AFTER_MS })),
    stale: live.length === 0,
    probers: snapshot.probers.map(({ id, live, host, pid, startedAt, lastSeen }) => ({ id, live, host, pid, startedAt, lastSeen })),
    pools: pools.map((pool) => ({
      name: pool.name,
      peers: pool.peers.map((peer): PeerReport => {
        const key = peerKey(peer);
        const views: Record<string, PeerState> = {};
        for (const id of live) {
          const state = snapshot.views.get(id)?.get(key);
          if (state !== undefined) views[id] = state;
        }
        const votes = countVotes(Object.values(views));
        const up = verdict(votes);
        const drained = snapshot.drained.has(key);
        const summary = up === undefined ? undefined : summarize(Object.values(views), up);
        return {
          id: peer.id,
          source: peer.source,
          addedAt: peer.addedAt,
          state: up === undefined ? 'unknown' : up ? 'up' : 'down',
          drained,
          inRotation: inRotation(peer, up) && !drained,
          ...(summary ? { since: summary.since, checkedAt: summary.checkedAt, latencyMs: summary.latencyMs } : {}),
          ...(summary?.reason !== undefined ? { reason: summary.reason } : {}),
          votes,
          views,
        };
      }),
    })),
  };
}
