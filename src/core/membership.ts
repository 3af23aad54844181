import { formatAddress } from './address.ts';
import { makePeer, type Peer, type PeerSource, type PeerSpec, type Pool } from './peer.ts';

/** Told of every peer that joins or leaves a pool, after the pool's `peers` has changed. */
export interface MembershipListener {
  peerAdded?(peer: Peer): void;
  peerRemoved?(peer: Peer): void;
}

/** One peer a source announces, by pool. */
export interface Announced {
  readonly pool: string;
  readonly spec: PeerSpec;
}

/** `Pool.peers` is read-only to the request path; only the membership replaces it. */
type Replaceable = { peers: readonly Peer[] };

/**
 * The peers of every pool in one process, as sources add and remove them at run time. A source
 * changes only its own peers: a registration cannot take away a configured peer, and a peer the
 * config file names is never replaced by an announcement of the same address. Each change
 * replaces the pool's `peers` array, so what was built over the old one (a selection, a lookup
 * table) can tell by identity that it must be built again.
 */
export class Membership {
  readonly pools: readonly Pool[];
  readonly #byName: ReadonlyMap<string, Pool>;
  readonly #listeners: MembershipListener[] = [];

  constructor(pools: readonly Pool[]) {
    this.pools = pools;
    this.#byName = new Map(pools.map((pool) => [pool.name, pool]));
  }

  listen(listener: MembershipListener): void {
    this.#listeners.push(listener);
  }

  pool(name: string): Pool | undefined {
    return this.#byName.get(name);
  }

  /** Adds the peer, or replaces it when its weight or backup changed; returns it when it changed. */
  add(poolName: string, spec: PeerSpec, source: PeerSource, now = Date.now()): Peer | undefined {
    const pool = this.#byName.get(poolName);
    if (pool === undefined) return undefined;
    const id = formatAddress(spec);
    const existing = pool.peers.find((peer) => peer.id === id);
    if (existing !== undefined) {
      if (existing.source !== source || (existing.weight === spec.weight && existing.backup === spec.backup)) return undefined;
      this.remove(poolName, id, source);
    }
    const peer = makePeer(poolName, spec, source, existing?.addedAt ?? now);
    (pool as Replaceable).peers = [...pool.peers, peer];
    for (const listener of this.#listeners) listener.peerAdded?.(peer);
    return peer;
  }

  /** Removes the peer if `source` brought it; returns it when it left. */
  remove(poolName: string, peerId: string, source: PeerSource): Peer | undefined {
    const pool = this.#byName.get(poolName);
    const peer = pool?.peers.find((candidate) => candidate.id === peerId);
    if (pool === undefined || peer === undefined || peer.source !== source) return undefined;
    (pool as Replaceable).peers = pool.peers.filter((candidate) => candidate !== peer);
    for (const listener of this.#listeners) listener.peerRemoved?.(peer);
    return peer;
  }

  /** Every peer `source` brought, across pools. */
  *from(source: PeerSource): Iterable<Peer> {
    for (const pool of this.pools) for (const peer of pool.peers) if (peer.source === source) yield peer;
  }
}
