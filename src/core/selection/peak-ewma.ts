import type { Peer } from '../peer.ts';
import { acceptedFrom } from './round-robin.ts';
import { configuredWeight, type Accept, type PeerLoad, type Selection, type Weight } from './selection.ts';
import { twoChoices } from './two-choices.ts';

/** What EWMA reads of each peer besides its in-flight requests: its peak-sensitive latency. */
export interface PeerLatency extends PeerLoad {
  /** The peer's peak EWMA response latency in milliseconds; undefined before its first answer. */
  peakLatencyMs(peer: Peer): number | undefined;
}

/**
 * Peak EWMA (Finagle's and Linkerd's): two random accepted peers, the one with the lower
 * latency × (in flight + 1) per unit of weight wins. The latency jumps at once to a slower answer
 * and decays back over seconds, and a failure counts as a slow answer (see `PeerRecord`), so a
 * peer that turns slow is avoided at once and one that fails fast never looks fast. A peer with
 * no answer yet counts as fast, so it gets a first request to be measured by.
 */
export class PeakEwma implements Selection {
  readonly needsKey = false;
  readonly #peers: readonly Peer[];
  readonly #latency: PeerLatency;
  readonly #random: () => number;
  readonly #weight: Weight;

  constructor(peers: readonly Peer[], latency: PeerLatency, random: () => number = Math.random, weight: Weight = configuredWeight) {
    this.#peers = peers;
    this.#latency = latency;
    this.#random = random;
    this.#weight = weight;
  }

  *candidates(_key: string | undefined, accept: Accept): Iterable<Peer> {
    const chosen = twoChoices(this.#peers, accept, this.#random, this.#cheaper);
    if (chosen !== undefined) yield* acceptedFrom(this.#peers, chosen, accept);
  }

  readonly #cheaper = (a: Peer, b: Peer): boolean => this.#cost(a) <= this.#cost(b);

  #cost(peer: Peer): number {
    const latency = this.#latency.peakLatencyMs(peer) ?? 0;
    return (latency * (this.#latency.inFlight(peer) + 1)) / this.#weight(peer);
  }
}
