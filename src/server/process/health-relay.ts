import type { HealthStore } from '../../core/health-store.ts';
import type { MembershipListener } from '../../core/membership.ts';
import type { PeerState } from '../../core/health.ts';
import type { Peer, Pool } from '../../core/peer.ts';
import type { ProbeEvents } from '../../prober/scheduler.ts';
import { MemoryHealthStore } from '../../store/memory.ts';
import type { HealthSource } from '../health-source.ts';
import type { HealthEntry } from './messages.ts';

/**
 * The primary's health store in embedded mode: one prober for all workers writes here, and every
 * check's verdict is passed on to the workers, which keep a mirror of it (their status and metrics
 * show the last check too, not only flips).
 */
export class RelayedHealthStore implements HealthStore, MembershipListener {
  readonly #store: MemoryHealthStore;
  readonly #relay: (entry: HealthEntry) => void;

  constructor(pools: readonly Pool[], relay: (entry: HealthEntry) => void) {
    this.#store = new MemoryHealthStore(pools);
    this.#relay = relay;
  }

  healthyPeers(pool: string): readonly Peer[] {
    return this.#store.healthyPeers(pool);
  }

  peerAdded(peer: Peer): void {
    this.#store.peerAdded(peer);
  }

  peerRemoved(peer: Peer): void {
    this.#store.peerRemoved(peer);
  }

  state(peer: Peer): PeerState | undefined {
    return this.#store.state(peer);
  }

  setState(peer: Peer, state: PeerState): void {
    this.#store.setState(peer, state);
    this.#relay({ pool: peer.pool, peer: peer.id, state });
  }

  /** Drains are a worker's business (its admin listener); the primary's prober never drains. */
  setDrained(peer: Peer, drained: boolean): void {
    this.#store.setDrained(peer, drained);
  }

  isDrained(peer: Peer): boolean {
    return this.#store.isDrained(peer);
  }

  /** Every decided peer, for a worker that starts now. */
  snapshot(pools: readonly Pool[]): HealthEntry[] {
    return pools.flatMap((pool) => pool.peers.flatMap((peer) => {
      const state = this.#store.state(peer);
      return state === undefined ? [] : [{ pool: pool.name, peer: peer.id, state }];
    }));
  }
}

/** A worker's side: a memory store kept current with the primary's verdicts. */
export class HealthMirror implements MembershipListener {
  readonly #store: MemoryHealthStore;
  /** Every check of every peer arrives here: found by key, not by scanning the pools. */
  readonly #peers = new Map<string, Peer>();
  #events: ProbeEvents = {};

  constructor(pools: readonly Pool[], initial: readonly HealthEntry[]) {
    this.#store = new MemoryHealthStore(pools);
    for (const pool of pools) for (const peer of pool.peers) this.#peers.set(entryKey(pool.name, peer.id), peer);
    for (const entry of initial) this.apply(entry);
  }

  peerAdded(peer: Peer): void {
    this.#peers.set(entryKey(peer.pool, peer.id), peer);
    this.#store.peerAdded(peer);
  }

  peerRemoved(peer: Peer): void {
    const key = entryKey(peer.pool, peer.id);
    if (this.#peers.get(key) === peer) this.#peers.delete(key);
    this.#store.peerRemoved(peer);
  }

  apply(entry: HealthEntry): void {
    const peer = this.#peers.get(entryKey(entry.pool, entry.peer));
    if (peer === undefined) return;
    const changed = this.#store.state(peer)?.up !== entry.state.up;
    this.#store.setState(peer, entry.state);
    this.#events.onCheck?.(peer, entry.state, changed);
  }

  /**
   * The mirror as the worker's health source; `watch` hears of every check from now on, starting
   * with each peer's latest one so far (from the start message, or relayed while the worker was
   * starting), so that what it keeps (the metrics) starts from what is already known.
   */
  source(watch: (store: HealthStore) => ProbeEvents): HealthSource {
    const events = (this.#events = watch(this.#store));
    for (const peer of this.#peers.values()) {
      const state = this.#store.state(peer);
      if (state !== undefined) events.onCheck?.(peer, state, false);
    }
    return { store: this.#store, stop: async () => {} };
  }
}

/** Pool names cannot contain "/", so this key is unambiguous. */
function entryKey(pool: string, peer: string): string {
  return `${pool}/${peer}`;
}
