import { inRotation, type PeerState } from '../health.ts';
import type { MembershipListener } from '../membership.ts';
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
export class SharedHealthView implements MembershipListener {
  readonly #peers = new Map<string, Peer>();
  readonly #pools: readonly Pool[];
  readonly #views = new Map<string, Map<string, PeerState>>();
  readonly #live = new Set<string>();
  readonly #drained = new Set<string>();
  /** Last decided verdicts; a configured peer never decided is up, one that joined later is not. */
  readonly #up = new Map<string, boolean>();
  readonly #healthy = new Map<string, readonly Peer[]>();
  /**
   * Pushes applied while a read of the store is in flight. A read may have been answered before
   * such a push was written, so its result would undo the push: they are applied again over it.
   */
  readonly #pushes: Array<{ readonly seq: number; readonly apply: () => void }> = [];
  readonly #openReads = new Set<number>();
  #seq = 0;
  #replaying = false;

  constructor(pools: readonly Pool[]) {
    this.#pools = pools;
    for (const pool of pools) {
      for (const peer of pool.peers) this.#peers.set(peerKey(peer), peer);
      this.#rebuild(pool.name);
    }
  }

  /** A peer joined: the probers' views may already hold its verdict (they check it from its registration). */
  peerAdded(peer: Peer): void {
    const key = peerKey(peer);
    this.#peers.set(key, peer);
    this.#decide(key);
    this.#rebuild(peer.pool);
  }

  peerRemoved(peer: Peer): void {
    const key = peerKey(peer);
    if (this.#peers.get(key) !== peer) return;
    this.#peers.delete(key);
    this.#up.delete(key);
    this.#rebuild(peer.pool);
  }

  /** Every known peer (configured or joined) by its shared key. */
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

  /**
   * Marks a read of the store about to be sent. Pass the mark to the call that applies the
   * read's result (or to `abandonRead` when it failed), so that pushes received meanwhile win.
   */
  beginRead(): number {
    const mark = ++this.#seq;
    this.#openReads.add(mark);
    return mark;
  }

  abandonRead(mark: number): void {
    this.#endRead(mark);
  }

  /** Replaces everything with a full read of the store. */
  replaceAll(snapshot: SharedHealthSnapshot, mark?: number): VerdictChange[] {
    return this.#replaceWith(mark, () => {
      this.#views.clear();
      for (const [prober, view] of snapshot.views) this.#views.set(prober, new Map(view));
      this.#live.clear();
      for (const prober of snapshot.probers) if (prober.live) this.#live.add(prober.id);
      this.#drained.clear();
      for (const key of snapshot.drained) this.#drained.add(key);
    });
  }

  /** Replaces one prober's view (it rewrote its full state); a prober that writes is live. */
  replaceView(prober: string, view: ReadonlyMap<string, PeerState>, mark?: number): VerdictChange[] {
    return this.#replaceWith(mark, () => {
      this.#views.set(prober, new Map(view));
      this.#live.add(prober);
    });
  }

  /** The probers whose heartbeat is present now; the others' views stop counting. */
  setLive(probers: ReadonlySet<string>, mark?: number): VerdictChange[] {
    const same = probers.size === this.#live.size && [...probers].every((id) => this.#live.has(id));
    if (same && !this.#hasPushesSince(mark)) {
      if (mark !== undefined) this.#endRead(mark);
      return [];
    }
    return this.#replaceWith(mark, () => {
      this.#live.clear();
      for (const id of probers) this.#live.add(id);
    });
  }

  /** A prober stopped cleanly (pushed): its view stops counting at once. */
  proberLeft(prober: string): VerdictChange[] {
    this.#record(() => this.#live.delete(prober));
    if (!this.#live.delete(prober)) return [];
    return this.#decideAll();
  }

  /** A prober's pushed verdict on one peer; a prober that writes is live. */
  applyState(prober: string, key: string, state: PeerState): VerdictChange[] {
    const peer = this.#peers.get(key);
    if (peer === undefined) return [];
    const store = () => {
      let view = this.#views.get(prober);
      if (view === undefined) this.#views.set(prober, (view = new Map()));
      view.set(key, state);
      this.#live.add(prober);
    };
    this.#record(store);
    const joined = !this.#live.has(prober);
    store();
    if (joined) return this.#decideAll();
    if (!this.#decide(key)) return [];
    this.#rebuild(peer.pool);
    return [this.#change(key, peer)];
  }

  /** Takes a peer out of rotation (or back), whatever its health. Returns whether it changed. */
  setDrained(key: string, drained: boolean): boolean {
    const store = () => (drained ? this.#drained.add(key) : this.#drained.delete(key));
    this.#record(store);
    if (this.#drained.has(key) === drained) return false;
    store();
    const pool = this.#peers.get(key)?.pool;
    if (pool !== undefined) this.#rebuild(pool);
    return true;
  }

  /** This process's own verdict on a peer, kept until the probers' next word on it. */
  override(peer: Peer, up: boolean): boolean {
    const key = peerKey(peer);
    if (this.#isUp(key, peer) === up) return false;
    this.#up.set(key, up);
    this.#rebuild(peer.pool);
    return true;
  }

  /** Keeps a push for the reads in flight; forgotten once none is. */
  #record(apply: () => void): void {
    if (this.#openReads.size > 0 && !this.#replaying) this.#pushes.push({ seq: ++this.#seq, apply });
  }

  #hasPushesSince(mark: number | undefined): boolean {
    return mark !== undefined && this.#pushes.some((push) => push.seq > mark);
  }

  #endRead(mark: number): void {
    this.#openReads.delete(mark);
    if (this.#openReads.size === 0) this.#pushes.length = 0;
    else {
      const oldest = Math.min(...this.#openReads);
      while (this.#pushes.length > 0 && this.#pushes[0]!.seq < oldest) this.#pushes.shift();
    }
  }

  /** Applies a read's result, then the pushes received since the read was sent; returns the net changes. */
  #replaceWith(mark: number | undefined, replace: () => void): VerdictChange[] {
    const before = new Map([...this.#peers].map(([key, peer]) => [key, this.#isUp(key, peer)]));
    replace();
    if (mark !== undefined) {
      this.#replaying = true;
      try {
        for (const push of this.#pushes) if (push.seq > mark) push.apply();
      } finally {
        this.#replaying = false;
      }
      this.#endRead(mark);
    }
    this.#decideAll();
    const changes: VerdictChange[] = [];
    for (const [key, peer] of this.#peers) {
      if ((before.get(key) ?? false) !== this.#isUp(key, peer)) changes.push(this.#change(key, peer));
    }
    return changes;
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
    const peer = this.#peers.get(key);
    const changed = peer === undefined || up !== this.#isUp(key, peer);
    this.#up.set(key, up);
    return changed;
  }

  #isUp(key: string, peer: Peer): boolean {
    return inRotation(peer, this.#up.get(key));
  }

  #decideAll(): VerdictChange[] {
    const changes: VerdictChange[] = [];
    for (const [key, peer] of this.#peers) if (this.#decide(key)) changes.push(this.#change(key, peer));
    for (const pool of this.#pools) this.#rebuild(pool.name);
    return changes;
  }

  #change(key: string, peer: Peer): VerdictChange {
    const up = this.#isUp(key, peer);
    const reason = summarize(this.#liveViewsOf(key), up)?.reason;
    return reason === undefined ? { peer, up } : { peer, up, reason };
  }

  #rebuild(pool: string): void {
    const peers = this.#pools.find((p) => p.name === pool)?.peers ?? [];
    this.#healthy.set(pool, peers.filter((peer) => {
      const key = peerKey(peer);
      return this.#isUp(key, peer) && !this.#drained.has(key);
    }));
  }
}
