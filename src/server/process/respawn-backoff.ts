/** A worker that ran at least this long before dying is restarted at once. */
const STABLE_AFTER_MS = 10_000;
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 10_000;

/**
 * Delays for restarting crashed workers: none after a crash of a worker that had been running
 * for a while, doubling (up to 10 s) while workers keep dying soon after they start, so a broken
 * peer or host does not turn into a fork loop.
 */
export class RespawnBackoff {
  #quickCrashes = 0;

  /** The delay before the next start, given how long the worker that died had run. */
  next(ranForMs: number): number {
    if (ranForMs >= STABLE_AFTER_MS) {
      this.#quickCrashes = 0;
      return 0;
    }
    const delay = Math.min(FIRST_DELAY_MS * 2 ** this.#quickCrashes, MAX_DELAY_MS);
    this.#quickCrashes++;
    return delay;
  }
}
