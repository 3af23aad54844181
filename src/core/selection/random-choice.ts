import type { Peer } from '../peer.ts';
import { acceptedFrom } from './round-robin.ts';
import { configuredWeight, type Accept, type Selection, type Weight } from './selection.ts';

/**
 * A random accepted peer, each with the chance of its weight: no state to share, so edges that
 * know nothing of each other still spread the load by weight. The fallback candidates are the
 * accepted peers after the chosen one.
 */
export class RandomChoice implements Selection {
  readonly needsKey = false;
  readonly #peers: readonly Peer[];
  readonly #random: () => number;
  readonly #weight: Weight;

  constructor(peers: readonly Peer[], random: () => number = Math.random, weight: Weight = configuredWeight) {
    this.#peers = peers;
    this.#random = random;
    this.#weight = weight;
  }

  *candidates(_key: string | undefined, accept: Accept): Iterable<Peer> {
    const peers = this.#peers;
    let total = 0;
    for (const peer of peers) if (accept(peer)) total += this.#weight(peer);
    if (total === 0) return;
    let point = this.#random() * total;
    let chosen = 0;
    for (; chosen < peers.length; chosen++) {
      const peer = peers[chosen]!;
      if (!accept(peer)) continue;
      point -= this.#weight(peer);
      if (point < 0) break;
    }
    // Rounding can leave the point at the very end: the last accepted peer takes it.
    if (chosen === peers.length) chosen = lastAccepted(peers, accept);
    yield* acceptedFrom(peers, chosen, accept);
  }
}

function lastAccepted(peers: readonly Peer[], accept: Accept): number {
  for (let i = peers.length - 1; i >= 0; i--) if (accept(peers[i]!)) return i;
  throw new Error('selection: no accepted peer');
}
