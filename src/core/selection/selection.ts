import type { Peer } from '../peer.ts';

/**
 * A selection algorithm yields candidates in order: the first choice, then the next one to try
 * if that fails, and so on. The caller stops when a peer answers or its retry bound is reached,
 * so retries and every later algorithm (weighted, hashing, least-connections) share one shape.
 */
export interface Selection {
  /** `peers` is the pool's currently healthy set; `key` is ignored by algorithms that need none. */
  candidates(peers: readonly Peer[], key?: string): Iterable<Peer>;
}
