import type { Peer } from '../core/peer.ts';

/** How much a new sample moves the smoothed latency: about the last ten answers count. */
const LATENCY_WEIGHT = 0.1;
/** How fast the peak EWMA forgets a slow answer: after this long it counts for 1/e (Linkerd's 10 s). */
const PEAK_DECAY_MS = 10_000;
/** What a failed attempt counts as in the peak EWMA, so a peer that fails fast never looks fast. */
export const FAILURE_PENALTY_MS = 1_000;

/** One peer as this edge process has seen it in its own traffic, updated by each attempt's events. */
export class PeerRecord {
  /** Attempts sent or waiting for a connection, not finished yet. */
  inFlight = 0;
  /** Attempts in a row that failed (reset by any answer). */
  consecutiveFailures = 0;
  /** Time to the response head, smoothed (EWMA); -1 until a first answer. */
  latencyMs = -1;
  /**
   * Peak EWMA of the time to the response head (for `selection: ewma`): a slower sample is taken
   * at once, a faster one pulls it down by how long ago the last sample was. -1 until a first one.
   */
  peakLatencyMs = -1;
  /** When the last peak EWMA sample was taken (`performance.now()`). */
  peakAt = 0;

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

  /** A latency sample for the peak EWMA, taken `now` (`performance.now()`). */
  observePeak(latencyMs: number, now: number): void {
    // A slower sample is taken at once; so is any sample after a stale one (see `peakLatencyMs`).
    if (this.peakLatencyMs < 0 || latencyMs > this.peakLatencyMs || now - this.peakAt > PEAK_DECAY_MS) this.peakLatencyMs = latencyMs;
    else {
      const kept = Math.exp(-(now - this.peakAt) / PEAK_DECAY_MS);
      this.peakLatencyMs = this.peakLatencyMs * kept + latencyMs * (1 - kept);
    }
    this.peakAt = now;
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
  readonly #records = new WeakMap<Peer, PeerRecord>();

  of(peer: Peer): PeerRecord {
    let record = this.#records.get(peer);
    if (record === undefined) this.#records.set(peer, (record = new PeerRecord()));
    return record;
  }

  inFlight(peer: Peer): number {
    return this.#records.get(peer)?.inFlight ?? 0;
  }

  /**
   * The peer's peak EWMA as of `now`: it decays with the time since its last sample too, and a
   * sample older than the decay time no longer counts (undefined: the peer looks fast, and gets
   * a request to be measured by). Else a peer slow or failing once, whose penalty takes a minute
   * to decay, would be starved of the very requests that would show it is well again.
   */
  peakLatencyMs(peer: Peer, now = performance.now()): number | undefined {
    const record = this.#records.get(peer);
    if (record === undefined || record.peakLatencyMs < 0) return undefined;
    const age = now - record.peakAt;
    return age > PEAK_DECAY_MS ? undefined : record.peakLatencyMs * Math.exp(-age / PEAK_DECAY_MS);
  }
}
