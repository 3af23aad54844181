import type { Peer } from '../peer.ts';
import type { Accept, Selection } from './selection.ts';

/**
 * Round robin over the peers `accept` takes: each request starts one accepted peer further
 * along, and its fallback candidates are the accepted peers after that one, wrapping around. The
 * rotation counts accepted peers only, so a peer that is down or drained does not hand its turns
 * to the one after it: the others share them evenly.
 */
export class RoundRobin implements Selection {
  readonly needsKey = false;
  readonly #peers: readonly Peer[];
  #next = 0;

  constructor(peers: readonly Peer[]) {
    this.#peers = peers;
  }

  *candidates(_key: string | undefined, accept: Accept): Iterable<Peer> {
    const peers = this.#peers;
    let accepted = 0;
    for (const peer of peers) if (accept(peer)) accepted++;
    if (accepted === 0) return;
    const turn = this.#next % accepted;
    // Wrap well before 2^53 so the counter never loses precision on a long-lived process.
    this.#next = (turn + 1) % accepted;
    let first = 0;
    for (let seen = 0; ; first++) if (accept(peers[first]!) && seen++ === turn) break;
    for (let i = 0; i < peers.length; i++) {
      const peer = peers[(first + i) % peers.length]!;
      if (accept(peer)) yield peer;
    }
  }
}
