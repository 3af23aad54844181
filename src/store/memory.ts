import type { HealthStore } from '../core/health-store.ts';
import { inRotation, type PeerState } from '../core/health.ts';
import type { MembershipListener } from '../core/membership.ts';
import type { Peer, Pool } from '../core/peer.ts';

/**
 * The embedded store: health lives in this process. The healthy list of each pool is rebuilt
 * only when a peer flips, is drained, joins or leaves, so the request path reads a ready array.
 */
export class MemoryHealthStore implements HealthStore, MembershipListener {
  readonly #pools = new Map<string, Pool>();
  readonly #healthy = new Map<string, readonly Peer[]>();
  readonly #states = new Map<Peer, PeerState>();
  readonly #drained = new Set<Peer>();

  constructor(pools: readonly Pool[]) {
    for (const pool of pools) {
      this.#pools.set(pool.name, pool);
      this.#rebuildHealthy(pool.name);
    }
  }

  peerAdded(peer: Peer): void {
    this.#rebuildHealthy(peer.pool);
  }

  peerRemoved(peer: Peer): void {
    this.#states.delete(peer);
    this.#drained.delete(peer);
    this.#rebuildHealthy(peer.pool);
  }

  healthyPeers(pool: string): readonly Peer[] {
    return this.#healthy.get(pool) ?? [];
  }

  state(peer: Peer): PeerState | undefined {
    return this.#states.get(peer);
  }

  setState(peer: Peer, state: PeerState): void {
    const previous = this.#states.get(peer);
    this.#states.set(peer, state);
    if (previous?.up !== state.up) this.#rebuildHealthy(peer.pool);
  }

  setDrained(peer: Peer, drained: boolean): void {
    if (this.#drained.has(peer) === drained) return;
    if (drained) this.#drained.add(peer);
    else this.#drained.delete(peer);
    this.#rebuildHealthy(peer.pool);
  }

  isDrained(peer: Peer): boolean {
    return this.#drained.has(peer);
  }

  #rebuildHealthy(pool: string): void {
    const peers = this.#pools.get(pool)?.peers ?? [];
    this.#healthy.set(pool, peers.filter((peer) => inRotation(peer, this.#states.get(peer)?.up) && !this.#drained.has(peer)));
  }
}
