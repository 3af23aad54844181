import type { Peer } from '../core/peer.ts';

/**
 * What one edge process knows of each peer from its own traffic, fed by the attempts it makes:
 * how many requests it has sent or queued to the peer and not finished yet.
 */
export class PeerStats {
  readonly #inFlight = new Map<Peer, number>();

  inFlight(peer: Peer): number {
    return this.#inFlight.get(peer) ?? 0;
  }

  attemptStarted(peer: Peer): void {
    this.#inFlight.set(peer, this.inFlight(peer) + 1);
  }

  attemptEnded(peer: Peer): void {
    this.#inFlight.set(peer, this.inFlight(peer) - 1);
  }
}
