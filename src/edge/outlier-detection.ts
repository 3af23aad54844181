import type { OutlierDetectionConfig } from '../core/config.ts';
import type { Log } from '../core/log.ts';
import type { Peer, Pool } from '../core/peer.ts';
import type { Accept } from '../core/selection/index.ts';

/** One peer's ejection state. */
interface Ejection {
  /** `now()` until which the peer is out; 0 while it is in. */
  until: number;
  /** Ejections in a row: each one lasts twice the one before, up to `max_ejection_time`. */
  count: number;
  /** When the last ejection ended, so that a peer well for long starts over at the base time. */
  endedAt: number;
  /** Ejections since start. */
  total: number;
}

/**
 * Passive health (a pool's `outlier_detection`): a peer whose real requests fail
 * `consecutive_failures` times in a row (connect errors, timeouts, `failure_statuses`) leaves
 * the rotation for `base_ejection_time`, twice as long at each repeat up to `max_ejection_time`,
 * and comes back by itself when the time is up (it must still pass its active checks, since the
 * healthy set is filtered first). Never more than `max_ejected_percent` of a pool is out at once
 * (at least one peer may be, as in Envoy). Runtime-neutral: the time is read only for peers that
 * are out, and an ejection ends when it is next looked at, not on a timer (an edge runtime has
 * none between requests). The state is this edge process's own.
 */
export class OutlierDetection {
  readonly #log: Log;
  readonly #now: () => number;
  readonly #ejections = new WeakMap<Peer, Ejection>();
  /** Peers out now, per pool; the hot path asks only this while it is 0. */
  readonly #out = new Map<string, number>();

  readonly #announce: ((peer: Peer, until: number) => void) | undefined;

  /** `announce` hears of each ejection this process decides, with its end in ms since the epoch. */
  constructor(log: Log, now: () => number = () => performance.now(), announce?: (peer: Peer, until: number) => void) {
    this.#log = log;
    this.#now = now;
    this.#announce = announce;
  }

  /** Whether an answer with this status counts as the peer failing. */
  isFailureStatus(pool: Pool, status: number): boolean {
    return pool.config.outlier_detection?.failure_statuses.includes(status) ?? false;
  }

  /**
   * The peer failed a request for the `failures`th time in a row; ejects it at the threshold.
   * Returns whether it did: the count in a row starts over then, so that a peer back from its
   * ejection needs as many failures again before the next.
   */
  failed(pool: Pool, peer: Peer, failures: number, reason: string): boolean {
    const settings = pool.config.outlier_detection;
    if (settings === undefined || failures < settings.consecutive_failures || this.isEjected(peer)) return false;
    const out = this.#out.get(pool.name) ?? 0;
    if (out + 1 > maxEjected(pool.peers.length, settings)) {
      this.#log.warn({ pool: pool.name, peer: peer.id, failures, reason, ejected: out }, 'peer failing but not ejected: max_ejected_percent of the pool is out already');
      return false;
    }
    const now = this.#now();
    const ejection = this.#ejections.get(peer) ?? { until: 0, count: 0, endedAt: -Infinity, total: 0 };
    // A peer that stayed well for a whole max_ejection_time since its last ejection starts over.
    if (now - ejection.endedAt > settings.max_ejection_time) ejection.count = 0;
    const lasts = Math.min(settings.base_ejection_time * 2 ** ejection.count, settings.max_ejection_time);
    ejection.count++;
    ejection.total++;
    ejection.until = now + lasts;
    this.#ejections.set(peer, ejection);
    this.#out.set(pool.name, out + 1);
    this.#log.warn({ pool: pool.name, peer: peer.id, failures, reason, ejectedForMs: lasts, ejections: ejection.count }, 'peer ejected');
    this.#announce?.(peer, performance.timeOrigin + ejection.until);
    return true;
  }

  /**
   * Takes out a peer another process of this edge ejected, until `until` (ms since the epoch); its
   * ejection count follows, so the next ejection here lasts as long as the next one there.
   */
  adopt(peer: Peer, until: number): void {
    const ends = until - performance.timeOrigin;
    const ejection = this.#ejections.get(peer) ?? { until: 0, count: 0, endedAt: -Infinity, total: 0 };
    if (ejection.until === 0) this.#out.set(peer.pool, (this.#out.get(peer.pool) ?? 0) + 1);
    else if (ejection.until >= ends) return;
    ejection.until = ends;
    ejection.count++;
    ejection.total++;
    this.#ejections.set(peer, ejection);
    this.#log.info({ pool: peer.pool, peer: peer.id, ejectedForMs: Math.round(ends - this.#now()) }, 'peer ejected by another worker');
  }

  /** Whether the peer is out now; an ejection whose time is up ends here. */
  isEjected(peer: Peer): boolean {
    const ejection = this.#ejections.get(peer);
    if (ejection === undefined || ejection.until === 0) return false;
    const now = this.#now();
    if (now < ejection.until) return true;
    ejection.until = 0;
    ejection.endedAt = now;
    this.#out.set(peer.pool, this.#out.get(peer.pool)! - 1);
    this.#log.info({ pool: peer.pool, peer: peer.id, ejections: ejection.count }, 'peer back from ejection');
    return false;
  }

  /** When the peer's last ejection ended (ms since the epoch); 0 if it never did. */
  endedAt(peer: Peer): number {
    const endedAt = this.#ejections.get(peer)?.endedAt ?? -Infinity;
    return endedAt === -Infinity ? 0 : performance.timeOrigin + endedAt;
  }

  /** Ejections of the peer since start. */
  ejections(peer: Peer): number {
    return this.#ejections.get(peer)?.total ?? 0;
  }

  /** `accept` without the pool's ejected peers; `accept` itself while none is out. */
  accept(pool: Pool, accept: Accept): Accept {
    if ((this.#out.get(pool.name) ?? 0) === 0) return accept;
    return (peer) => accept(peer) && !this.isEjected(peer);
  }
}

function maxEjected(peers: number, settings: OutlierDetectionConfig): number {
  if (settings.max_ejected_percent === 0) return 0;
  return Math.max(1, Math.floor((peers * settings.max_ejected_percent) / 100));
}
