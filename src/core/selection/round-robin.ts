import type { Peer } from '../peer.ts';
import { configuredWeight, type Accept, type Selection, type Weight } from './selection.ts';

/**
 * Smooth weighted round robin (nginx's): on each request every accepted peer's running score
 * grows by its weight, the highest score is chosen and gives back the sum of the weights. Over
 * any run of requests each peer gets its weight's share, spread out rather than in bursts (5:1:1
 * goes a a b a c a a), and equal weights give plain round robin. Only accepted peers take part,
 * so a peer that is down or drained does not hand its turns to the one after it: the others
 * share them by weight. The fallback candidates are the accepted peers after the chosen one.
 */
export class RoundRobin implements Selection {
  readonly needsKey = false;
  readonly #peers: readonly Peer[];
  readonly #scores: number[];
  readonly #weight: Weight;

  constructor(peers: readonly Peer[], weight: Weight = configuredWeight) {
    this.#peers = peers;
    this.#scores = peers.map(() => 0);
    this.#weight = weight;
  }

  *candidates(_key: string | undefined, accept: Accept): Iterable<Peer> {
    const peers = this.#peers;
    const scores = this.#scores;
    let total = 0;
    let chosen = -1;
    for (let i = 0; i < peers.length; i++) {
      const peer = peers[i]!;
      if (!accept(peer)) continue;
      const weight = this.#weight(peer);
      scores[i]! += weight;
      total += weight;
      if (chosen < 0 || scores[i]! > scores[chosen]!) chosen = i;
    }
    if (chosen < 0) return;
    scores[chosen]! -= total;
    yield* acceptedFrom(peers, chosen, accept);
  }
}

/** The peer at `first`, then the accepted peers after it in configured order, wrapping around. */
export function* acceptedFrom(peers: readonly Peer[], first: number, accept: Accept): Iterable<Peer> {
  yield peers[first]!;
  for (let i = 1; i < peers.length; i++) {
    const peer = peers[(first + i) % peers.length]!;
    if (accept(peer)) yield peer;
  }
}
