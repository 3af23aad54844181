import type { Peer } from '../peer.ts';
import type { Accept, Selection } from './selection.ts';

/**
 * A pool with backup peers: the candidates are the primary peers' (by the pool's selection)
 * while any primary is accepted, and the backups' only when none is, so backups never take
 * requests, not even retries, while a primary is up.
 */
export class WithBackups implements Selection {
  readonly needsKey: boolean;
  readonly #primaries: Selection;
  readonly #backups: Selection;

  constructor(primaries: Selection, backups: Selection) {
    this.#primaries = primaries;
    this.#backups = backups;
    this.needsKey = primaries.needsKey || backups.needsKey;
  }

  *candidates(key: string | undefined, accept: Accept): Iterable<Peer> {
    let any = false;
    for (const peer of this.#primaries.candidates(key, accept)) {
      any = true;
      yield peer;
    }
    if (!any) yield* this.#backups.candidates(key, accept);
  }
}
