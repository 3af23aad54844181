import type { Peer } from './peer.ts';

/** What one health check of one peer found. */
export interface CheckResult {
  readonly ok: boolean;
  readonly latencyMs: number;
  /** Why the check failed (`connect ECONNREFUSED`, `timeout after 1000ms`, `status 500`). */
  readonly reason?: string;
  /**
   * The check could not be made for a reason on the prober's own host (out of file descriptors
   * or ports): it says nothing about the peer and must not count against it.
   */
  readonly inconclusive?: boolean;
}

/** A peer's health as decided after applying rise/fall to its checks. */
export interface PeerState {
  readonly up: boolean;
  /** When the peer entered this state (ms since the epoch). */
  readonly since: number;
  readonly checkedAt: number;
  readonly latencyMs: number;
  readonly reason?: string;
}

/**
 * Applies rise/fall thresholds: a peer goes down after `fall` failed checks in a row and comes
 * back after `rise` passed ones. The very first check decides the starting state on its own, so
 * a balancer never starts by sending traffic to a peer it has just seen fail (nor withholds it
 * from one it has just seen pass).
 */
export class HealthThreshold {
  #up: boolean | undefined;
  #streak = 0;
  readonly #rise: number;
  readonly #fall: number;

  constructor(rise: number, fall: number) {
    this.#rise = rise;
    this.#fall = fall;
  }

  /** Feeds one check result; returns the state (`up`) and whether it just changed. */
  observe(ok: boolean): { up: boolean; changed: boolean } {
    if (this.#up === undefined) {
      this.#up = ok;
      return { up: ok, changed: true };
    }
    if (ok === this.#up) {
      this.#streak = 0;
      return { up: ok, changed: false };
    }
    this.#streak++;
    if (this.#streak < (ok ? this.#rise : this.#fall)) return { up: this.#up, changed: false };
    this.#up = ok;
    this.#streak = 0;
    return { up: ok, changed: true };
  }
}

/**
 * A configured peer never checked counts as up (the first checks run before the listeners open);
 * a peer that joined at run time waits for its first passed check.
 */
export function inRotation(peer: Peer, up: boolean | undefined): boolean {
  return up ?? peer.source === 'config';
}
