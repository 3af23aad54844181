import type { PeerState } from '../health.ts';
import type { Peer, Pool } from '../peer.ts';
import { peerKey } from './keys.ts';
import type { SharedHealthSnapshot } from './snapshot.ts';
import { countVotes, summarize, verdict } from './vote.ts';

/** A peer whose verdict changed as the local copy learned something. */
export interface VerdictChange {
  readonly peer: Peer;
  readonly up: boolean;
  readonly reason?: string;
}

/**
 * An edge's local copy of the shared health: every live prober's view, the drained set, and the
 * verdict per peer (majority of live probers). Fed by full snapshots and pushed changes, it keeps
 * a ready healthy list per pool for the request path. When no prober is live it keeps its last
 * verdicts and calls itself stale.
 */
export class SharedHealthView {
  readonly #peers = new Map<string, Peer>();
  readonly #pools: readonly Pool[];
  readonly #views = new Map<string, Map<string, PeerState>>();
  readonly #live = new Set<string>();
  readonly #drained = new Set<string>();
  /** Last decided verdicts; a peer never decided is up. */
  readonly #up = new Map<string, boolean>();
  readonly #healthy = new Map<string, readonly Peer[]>();

  constructor(pools: readonly Pool[]) {
    this.#pools = pools;
    for (const pool of pools) {
      for (const peer of pool.peers) this.#peers.set(peerKey(peer), peer);
      this.#healthy.set(pool.name, pool.peers);
    }
  }

  /** Every configured peer by its shared key. */
  peers(): ReadonlyMap<string, Peer> {
    return this.#peers;
  }

  healthyPeers(pool: string): readonly Peer[] {
    return this.#healthy.get(pool) ?? [];
  }

  /** True when no prober is live: the verdicts are the last ones known. */
  get stale(): boolean {
    return this.#live.size === 0;
  }

  liveProbers(): ReadonlySet<string> {
    return this.#live;
  }

  isDrained(peer: Peer): boolean {
    return this.#drained.has(peerKey(peer));
  }

  /** The verdict with the details of the probers that agree with it. */
  state(peer: Peer): PeerState | undefined {
    const key = peerKey(peer);
    const up = this.#up.get(key);
    return up === undefined ? undefined : summarize(this.#liveViewsOf(key), up);
  }

  /** Replaces everything with a full read of the store. */
  replaceAll(snapshot: SharedHealthSnapshot): VerdictChange[] {
    this.#views.clear();
    for (const [prober, view] of snapshot.views) this.#views.set(prober, new Map(view));
    this.#live.clear();
    for (const prober of snapshot.probers) if (prober.live) this.#live.add(prober.id);
    this.#drained.clear();
    for (const key of snapshot.drained) this.#drained.add(key);
    return this.#decideAll();
  }

  /** Replaces one prober's view (it rewrote its full state); a prober that writes is live. */
  replaceView(prober: string, view: ReadonlyMap<string, PeerState>): VerdictChange[] {
    this.#views.set(prober, new Map(view));
    this.#live.add(prober);
    return this.#decideAll();
  }

  /** The probers whose heartbeat is present now; the others' views stop counting. */
  setLive(probers: ReadonlySet<string>): VerdictChange[] {
    if (probers.size === this.#live.size && [...probers].every((id) => this.#live.has(id))) return [];
    this.#live.clear();
    for (const id of probers) this.#live.add(id);
    return this.#decideAll();
  }

  /** A prober's pushed verdict on one peer; a prober that writes is live. */
  applyState(prober: string, key: string, state: PeerState): VerdictChange[] {
    const peer = this.#peers.get(key);
    if (peer === undefined) return [];
    let view = this.#views.get(prober);
    if (view === undefined) this.#views.set(prober, (view = new Map()));
    view.set(key, state);
    const joined = !this.#live.has(prober);
    this.#live.add(prober);
    if (joined) return this.#decideAll();
    if (!this.#decide(key)) return [];
    this.#rebuild(peer.pool);
    return [this.#change(key, peer)];
  }

  /** Takes a peer out of rotation (or back), whatever its health. Returns whether it changed. */
  setDrained(key: string, drained: boolean): boolean {
    if (this.#drained.has(key) === drained) return false;
    if (drained) this.#drained.add(key);
    else this.#drained.delete(key);
    const pool = this.#peers.get(key)?.pool;
    if (pool !== undefined) this.#rebuild(pool);
    return true;
  }

  /** This process's own verdict on a peer, kept until the probers' next word on it. */
  override(peer: Peer, up: boolean): boolean {
    const key = peerKey(peer);
    if ((this.#up.get(key) ?? true) === up) return false;
    this.#up.set(key, up);
    this.#rebuild(peer.pool);
    return true;
  }

  #liveViewsOf(key: string): PeerState[] {
    const views: PeerState[] = [];
    for (const prober of this.#live) {
      const state = this.#views.get(prober)?.get(key);
      if (state !== undefined) views.push(state);
    }
    return views;
  }

  /** Recomputes one peer's verdict; true when it changed. The caller rebuilds the healthy list. */
  #decide(key: string): boolean {
    const up = verdict(countVotes(this.#liveViewsOf(key)));
    if (up === undefined) return false;
    const changed = up !== (this.#up.get(key) ?? true);
    this.#up.set(key, up);
    return changed;
  }

  #decideAll(): VerdictChange[] {
    const changes: VerdictChange[] = [];
    for (const [key, peer] of this.#peers) if (this.#decide(key)) changes.push(this.#change(key, peer));
    for (const pool of this.#pools) this.#rebuild(pool.name);
    return changes;
  }

  #change(key: string, peer: Peer): VerdictChange {
    const up = this.#up.get(key) ?? true;
    const reason = summarize(this.#liveViewsOf(key), up)?.reason;
    return reason === undefined ? { peer, up } : { peer, up, reason };
  }

  #rebuild(pool: string): void {
    const peers = this.#pools.find((p) => p.name === pool)?.peers ?? [];
    this.#healthy.set(pool, peers.filter((peer) => {
      const key = peerKey(peer);
      return this.#up.get(key) !== false && !this.#drained.has(key);
    }));
  }
}
