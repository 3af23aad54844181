import type { Peer } from '../peer.ts';
import { acceptedFrom } from './round-robin.ts';
import { configuredWeight, type Accept, type PeerLoad, type Selection, type Weight } from './selection.ts';
import { twoChoices } from './two-choices.ts';

/**
 * Least request by the power of two choices (Envoy's default): of two random accepted peers,
 * the one with fewer requests in flight per unit of weight. A slow peer, whose requests stay in
 * flight longer, is chosen less. The fallback candidates are the accepted peers after the
 * chosen one.
 */
export class LeastRequest implements Selection {
  readonly needsKey = false;
  readonly #peers: readonly Peer[];
  readonly #load: PeerLoad;
  readonly #random: () => number;
  readonly #weight: Weight;
  readonly #lighter = (a: Peer, b: Peer): boolean => this.#load.inFlight(a) * this.#weight(b) <= this.#load.inFlight(b) * this.#weight(a);

  constructor(peers: readonly Peer[], load: PeerLoad, random: () => number = Math.random, weight: Weight = configuredWeight) {
    this.#peers = peers;
    this.#load = load;
    this.#random = random;
    this.#weight = weight;
  }

  *candidates(_key: string | undefined, accept: Accept): Iterable<Peer> {
    const chosen = twoChoices(this.#peers, accept, this.#random, this.#lighter);
    if (chosen !== undefined) yield* acceptedFrom(this.#peers, chosen, accept);
  }
}
