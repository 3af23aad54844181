import type { Peer } from '../peer.ts';
import type { Selection } from './selection.ts';

/**
 * Round robin over the healthy set: each request starts one peer further along, and its
 * fallback candidates are the peers after that one, wrapping around.
 */
export class RoundRobin implements Selection {
  #next = 0;

  *candidates(peers: readonly Peer[]): Iterable<Peer> {
    const count = peers.length;
    if (count === 0) return;
    const start = this.#next % count;
    // Wrap well before 2^53 so the counter never loses precision on a long-lived process.
    this.#next = (start + 1) % count;
    for (let i = 0; i < count; i++) yield peers[(start + i) % count]!;
  }
}
