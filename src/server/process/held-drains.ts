import type { DrainEntry } from './messages.ts';

/**
 * The drains operators made, held by the primary in embedded mode (with `redis` they live in
 * Redis), so that a reload (SIGHUP, which log rotation sends too) and a replaced worker start
 * with them instead of undoing them, and a graceful upgrade hands them to the new process. A drain of a peer the new config no longer has is dropped
 * with it.
 */
export class HeldDrains {
  readonly #drained = new Map<string, DrainEntry>();

  constructor(entries: readonly DrainEntry[] = []) {
    for (const entry of entries) this.apply(entry);
  }

  apply(entry: DrainEntry): void {
    const key = `${entry.pool}/${entry.peer}`;
    if (entry.drained) this.#drained.set(key, entry);
    else this.#drained.delete(key);
  }

  entries(): DrainEntry[] {
    return [...this.#drained.values()];
  }
}
