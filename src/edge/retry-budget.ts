import type { Pool } from '../core/peer.ts';
import type { PeerStats } from './peer-stats.ts';

/** Retries that may always run at once in a pool, so a quiet pool still retries (Envoy's 3). */
const MIN_RETRIES = 3;
/** Retries in flight allowed per attempt in flight in the pool (Envoy's default 20%). */
const BUDGET = 0.2;

/**
 * The retry budget (Envoy's): a pool may have at most 20% as many retries in flight (after a
 * timeout or an answer status; see `Attempts`) as attempts in flight (at least 3), so a sick
 * pool, where every request wants a retry, is not hit with twice its traffic. Per edge process,
 * like the in-flight counts it reads.
 */
export class RetryBudget {
  readonly #stats: PeerStats;
  readonly #retrying = new Map<string, number>();

  constructor(stats: PeerStats) {
    this.#stats = stats;
  }

  allows(pool: Pool): boolean {
    let inFlight = 0;
    for (const peer of pool.peers) inFlight += this.#stats.inFlight(peer);
    return (this.#retrying.get(pool.name) ?? 0) < Math.max(MIN_RETRIES, BUDGET * inFlight);
  }

  started(pool: Pool): void {
    this.#retrying.set(pool.name, (this.#retrying.get(pool.name) ?? 0) + 1);
  }

  ended(pool: Pool): void {
    this.#retrying.set(pool.name, this.#retrying.get(pool.name)! - 1);
  }
}
