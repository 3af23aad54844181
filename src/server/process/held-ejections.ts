import type { EjectionEntry } from './messages.ts';

/**
 * Ejections (outlier detection) still running, held by the primary so that the workers of a
 * reload start with them: a peer failing real requests stays out for its ejection time even
 * when the config is reloaded, or the process upgraded, meanwhile.
 */
export class HeldEjections {
  readonly #ejected = new Map<string, EjectionEntry>();

  constructor(entries: readonly EjectionEntry[] = []) {
    for (const entry of entries) this.apply(entry);
  }

  apply(entry: EjectionEntry): void {
    this.#ejected.set(`${entry.pool}/${entry.peer}`, entry);
  }

  /** The ejections not over yet. */
  entries(now = Date.now()): EjectionEntry[] {
    for (const [key, entry] of this.#ejected) if (entry.until <= now) this.#ejected.delete(key);
    return [...this.#ejected.values()];
  }
}
