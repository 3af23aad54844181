import type { Peer } from '../peer.ts';
import type { Accept } from './selection.ts';

const accepts = new WeakMap<readonly Peer[], Accept>();

/**
 * The `accept` filter of a pool's healthy set as a store hands it out: an array rebuilt only
 * when a peer flips or is drained, so the filter (a set lookup) is built once per version of it
 * and every request reuses it.
 */
export function acceptHealthy(healthy: readonly Peer[]): Accept {
  let accept = accepts.get(healthy);
  if (accept === undefined) {
    const set = new Set(healthy);
    accepts.set(healthy, (accept = (peer) => set.has(peer)));
  }
  return accept;
}
