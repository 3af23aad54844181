import type { Peer } from '../core/peer.ts';

/** How much a new sample moves the smoothed latency: about the last ten answers count. */
const LATENCY_WEIGHT = 0.1;

/** One peer as this edge process has seen it in its own traffic, updated by each attempt's events. */
export class PeerRecord {
  /** Attempts sent or waiting for a connection, not finished yet. */
  inFlight = 0;
  /** Attempts in a row that failed (reset by any answer). */
  consecutiveFailures = 0;
  /** Time to the response head, smoothed (EWMA); -1 until a first answer. */
  latencyMs = -1;

  started(): void {
    this.inFlight++;
  }

  /** The attempt's response head arrived after `latencyMs`. */
  answered(latencyMs: number): void {
    this.consecutiveFailures = 0;
    this.latencyMs = this.latencyMs < 0 ? latencyMs : this.latencyMs + LATENCY_WEIGHT * (latencyMs - this.latencyMs);
  }

  failed(): void {
    this.consecutiveFailures++;
  }

  ended(): void {
    this.inFlight--;
  }
}

/**
 * What one edge process knows of each peer from its own traffic, fed by the attempt events of
 * every request (see `Attempts`) and read by selection, passive health, metrics and `/status`.
 * A record is looked up once per attempt and then updated in place.
 */
export class PeerStats {
  readonly #records = new Map<Peer, PeerRecord>();

  of(peer: Peer): PeerRecord {
    let record = this.#records.get(peer);
    if (record === undefined) this.#records.set(peer, (record = new PeerRecord()));
    return record;
  }

  inFlight(peer: Peer): number {
    return this.#records.get(peer)?.inFlight ?? 0;
  }
}
