import type { HealthStore } from '../core/health-store.ts';
import type { Peer } from '../core/peer.ts';
import type { OutlierDetection } from './outlier-detection.ts';

/** The share of its weight a peer starts from when it comes back (Envoy's default 10%). */
const MIN_SHARE = 0.1;

/**
 * Slow start (a pool's `slow_start`): a peer that comes back into rotation (its checks pass
 * again, or its ejection ends) gets a share of its weight that grows linearly from 10% to all of
 * it over the period, so a peer with cold caches or a fresh JIT is not hit with its full share
 * at once. Peers up since before this process started are at full weight. Weights only:
 * `consistent_hash` keeps its ring as built.
 */
export class SlowStart {
  readonly #store: HealthStore;
  readonly #outliers: OutlierDetection;
  readonly #startedAt: number;
  readonly #now: () => number;

  constructor(store: HealthStore, outliers: OutlierDetection, now: () => number = Date.now) {
    this.#store = store;
    this.#outliers = outliers;
    this.#now = now;
    this.#startedAt = now();
  }

  /** The weight selection gives `peer` now. */
  weight(peer: Peer, periodMs: number): number {
    const state = this.#store.state(peer);
    const healthBack = state !== undefined && state.up && state.since > this.#startedAt ? state.since : 0;
    const back = Math.max(healthBack, this.#outliers.endedAt(peer));
    const elapsed = this.#now() - back;
    if (elapsed >= periodMs) return peer.weight;
    return peer.weight * Math.max(MIN_SHARE, elapsed / periodMs);
  }
}
