import type { Pool } from '../peer.ts';
import { RoundRobin } from './round-robin.ts';
import type { Selection } from './selection.ts';

export type { Accept, Selection } from './selection.ts';

/** The pool's selection, built over all its peers. */
export function createSelection(pool: Pool): Selection {
  switch (pool.config.selection) {
    case 'round_robin':
      return new RoundRobin(pool.peers);
  }
}
