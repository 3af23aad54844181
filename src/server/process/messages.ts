import type { Config } from '../../core/config.ts';
import type { PeerState } from '../../core/health.ts';
import { formatAddress } from '../../core/address.ts';
import type { Membership } from '../../core/membership.ts';
import type { Peer, PeerSource, PeerSpec } from '../../core/peer.ts';
import type { WorkerReport } from './worker-report.ts';

/** One peer's health as the primary's prober decided it, sent to every worker. */
export interface HealthEntry {
  readonly pool: string;
  readonly peer: string;
  readonly state: PeerState;
}

/** A peer one worker ejected (outlier detection), for the other workers of its generation. */
export interface EjectionEntry {
  readonly pool: string;
  readonly peer: string;
  /** When the ejection ends, in ms since the epoch. */
  readonly until: number;
}

/** An operator's drain (or undrain) of a peer, in embedded mode held by the primary. */
export interface DrainEntry {
  readonly pool: string;
  readonly peer: string;
  readonly drained: boolean;
}

/** A peer that joined (or left) a pool at run time: from DNS or the admin API, in embedded mode decided by the primary. */
export interface PeerEntry {
  readonly pool: string;
  readonly spec: PeerSpec;
  readonly source: PeerSource;
  readonly addedAt: number;
}

export function peerEntry(peer: Peer): PeerEntry {
  return { pool: peer.pool, spec: { host: peer.host, port: peer.port, weight: peer.weight, backup: peer.backup }, source: peer.source, addedAt: peer.addedAt };
}

/** The change an entry stands for, made to a membership: the peer joins (or leaves) as its source. */
export function applyPeerEntry(membership: Membership, entry: PeerEntry, joined: boolean): void {
  if (joined) membership.add(entry.pool, entry.spec, entry.source, entry.addedAt);
  else membership.remove(entry.pool, formatAddress(entry.spec), entry.source);
}

/** What an embedded primary holds for its operators, handed to the new process of a graceful upgrade. */
export interface HeldState {
  readonly drains: readonly DrainEntry[];
  readonly peers: readonly PeerEntry[];
  readonly ejected: readonly EjectionEntry[];
}

/** Primary → worker. `start` comes first; listening sockets are the worker's fds from `LISTEN_FD_BASE`. */
export type ToWorker =
  /** `reloads`: configuration reloads before this generation, for the metrics. */
  | {
    readonly type: 'edgelb:start'; readonly config: Config; readonly health: readonly HealthEntry[]; readonly drained: readonly DrainEntry[];
    /** The peers that joined at run time, which the config does not name. */
    readonly peers: readonly PeerEntry[];
    /** Ejections still running, made by workers of this or an earlier generation. */
    readonly ejected: readonly EjectionEntry[];
    readonly reloads: number;
    /** When the primary started (ms since the epoch): the balancer's uptime. */
    readonly startedAt: number;
  }
  /** The primary asks for this worker's report (an admin view of every worker). */
  | { readonly type: 'edgelb:report'; readonly id: number }
  /** Every worker's report, for the admin request that asked (`edgelb:gather`); `alone`: the asker's own view is the edge's. */
  | { readonly type: 'edgelb:gathered'; readonly id: number; readonly reports: readonly WorkerReport[] | 'alone' }
  | { readonly type: 'edgelb:peer'; readonly entry: PeerEntry; readonly joined: boolean }
  | { readonly type: 'edgelb:health'; readonly entry: HealthEntry }
  | { readonly type: 'edgelb:ejected'; readonly entry: EjectionEntry }
  | { readonly type: 'edgelb:drained'; readonly entry: DrainEntry }
  | { readonly type: 'edgelb:stop' };

/** Worker → primary. */
export type FromWorker =
  | { readonly type: 'edgelb:serving' }
  | { readonly type: 'edgelb:start-failed'; readonly reason: string }
  | { readonly type: 'edgelb:ejected'; readonly entry: EjectionEntry }
  | { readonly type: 'edgelb:drained'; readonly entry: DrainEntry }
  /** A peer added or removed through this worker's admin listener. */
  | { readonly type: 'edgelb:peer'; readonly entry: PeerEntry; readonly joined: boolean }
  /** This worker's admin listener needs every worker's report. */
  | { readonly type: 'edgelb:gather'; readonly id: number }
  | { readonly type: 'edgelb:report'; readonly id: number; readonly report: WorkerReport }
  /** This worker's report as it stops, after its last request: what it counted outlives it. */
  | { readonly type: 'edgelb:final'; readonly report: WorkerReport };

/** A worker's fd 3 is its IPC channel; the listening sockets follow, in `listen` order. */
export const LISTEN_FD_BASE = 4;

export function isMessage<T extends { type: string }>(value: unknown, type: T['type']): value is T {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === type;
}
