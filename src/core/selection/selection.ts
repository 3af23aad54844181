import type { Peer } from '../peer.ts';

/** Whether a peer may take a request now: up, not drained, not ejected. */
export type Accept = (peer: Peer) => boolean;

/** The weight a peer is given now (its configured one, or less while it slow-starts). */
export type Weight = (peer: Peer) => number;

export const configuredWeight: Weight = (peer) => peer.weight;

/** What a load-aware selection reads: the requests this edge has in flight to each peer. */
export interface PeerLoad {
  inFlight(peer: Peer): number;
}

/**
 * A selection algorithm, in the shape of Pingora's: built once over all of a pool's peers (again
 * when its membership changes), then asked per request for candidates in order (the first
 * choice, then the next to try if that fails, and so on), among the peers `accept` takes. Health
 * is a filter at that point, not an input to the build, so tables and rings are built once. The
 * caller stops when a peer answers or its retry bound is reached, so retries and every
 * algorithm (weighted, hashing, least-request) share one shape.
 */
export interface Selection {
  /** Whether `candidates` reads the request key (hashing does; round robin does not). */
  readonly needsKey: boolean;
  /** `key` is the request's hash key (the client address, a header, ...), for algorithms that need one. */
  candidates(key: string | undefined, accept: Accept): Iterable<Peer>;
}
