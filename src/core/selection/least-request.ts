import type { Peer } from '../peer.ts';
import { acceptedFrom } from './round-robin.ts';
import type { Accept, PeerLoad, Selection } from './selection.ts';

/**
 * Least request by the power of two choices (Envoy's default, and Finagle's): two accepted peers
 * drawn at random, the one with fewer requests in flight per unit of weight wins. Comparing two
 * instead of all keeps every edge from piling onto the same least-loaded peer at once, and a
 * slow peer, whose requests stay in flight longer, is chosen less. The fallback candidates are
 * the accepted peers after the chosen one.
 */
export class LeastRequest implements Selection {
  readonly needsKey = false;
  readonly #peers: readonly Peer[];
  readonly #load: PeerLoad;
  readonly #random: () => number;

  constructor(peers: readonly Peer[], load: PeerLoad, random: () => number = Math.random) {
    this.#peers = peers;
    this.#load = load;
    this.#random = random;
  }

  *candidates(_key: string | undefined, accept: Accept): Iterable<Peer> {
    const peers = this.#peers;
    let accepted = 0;
    for (const peer of peers) if (accept(peer)) accepted++;
    if (accepted === 0) return;
    const a = Math.floor(this.#random() * accepted);
    // The second draw skips the first, so the two are distinct whenever two peers are accepted.
    const b = accepted === 1 ? a : (a + 1 + Math.floor(this.#random() * (accepted - 1))) % accepted;
    const first = indexOfAccepted(peers, accept, a);
    const second = indexOfAccepted(peers, accept, b);
    yield* acceptedFrom(peers, this.#lighter(peers[first]!, peers[second]!) ? first : second, accept);
  }

  /** Whether `a` carries no more load per unit of weight than `b`. */
  #lighter(a: Peer, b: Peer): boolean {
    return this.#load.inFlight(a) * b.weight <= this.#load.inFlight(b) * a.weight;
  }
}

/** The index in `peers` of the `n`th accepted peer. */
export function indexOfAccepted(peers: readonly Peer[], accept: Accept, n: number): number {
  for (let i = 0, seen = 0; i < peers.length; i++) if (accept(peers[i]!) && seen++ === n) return i;
  throw new Error('selection: fewer accepted peers than counted');
}
