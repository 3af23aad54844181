import type { HealthStore } from '../../core/health-store.ts';
import type { PeerState } from '../../core/health.ts';
import type { Peer, Pool } from '../../core/peer.ts';
import { MemoryHealthStore } from '../../store/memory.ts';
import type { HealthEntry } from './messages.ts';

/**
 * The primary's health store in embedded mode: one prober for all workers writes here, and every
 * flip (a peer going up or down) is passed on to the workers, which keep a mirror of it. Checks
 * that change nothing stay in the primary.
 */
export class RelayedHealthStore implements HealthStore {
  readonly #store: MemoryHealthStore;
  readonly #onFlip: (entry: HealthEntry) => void;

  constructor(pools: readonly Pool[], onFlip: (entry: HealthEntry) => void) {
    this.#store = new MemoryHealthStore(pools);
    this.#onFlip = onFlip;
  }

  healthyPeers(pool: string): readonly Peer[] {
    return this.#store.healthyPeers(pool);
  }

  state(peer: Peer): PeerState | undefined {
    return this.#store.state(peer);
  }

  setState(peer: Peer, state: PeerState): void {
    const previous = this.#store.state(peer);
    this.#store.setState(peer, state);
    if (previous?.up !== state.up) this.#onFlip({ pool: peer.pool, peer: peer.id, state });
  }

  /** Every decided peer, for a worker that starts now. */
  snapshot(pools: readonly Pool[]): HealthEntry[] {
    return pools.flatMap((pool) => pool.peers.flatMap((peer) => {
      const state = this.#store.state(peer);
      return state === undefined ? [] : [{ pool: pool.name, peer: peer.id, state }];
    }));
  }
}

/** A worker's side: applies the primary's entries to its own in-memory store. */
export function applyHealthEntry(store: HealthStore, pools: readonly Pool[], entry: HealthEntry): void {
  const peer = pools.find((pool) => pool.name === entry.pool)?.peers.find((candidate) => candidate.id === entry.peer);
  if (peer !== undefined) store.setState(peer, entry.state);
}
