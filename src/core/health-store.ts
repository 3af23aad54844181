import type { PeerState } from './health.ts';
import type { Peer } from './peer.ts';

/**
 * Where probers write peer health and edges read it. Embedded mode keeps it in memory; with
 * `redis` the edge keeps a local copy that follows the shared one. Either way the request path
 * reads only `healthyPeers`, which must be synchronous and cheap.
 */
export interface HealthStore {
  /** The pool's peers that are up, in configured order. Peers never checked count as up. */
  healthyPeers(pool: string): readonly Peer[];
  /** Records a prober's verdict on a peer. */
  setState(peer: Peer, state: PeerState): void;
  state(peer: Peer): PeerState | undefined;
  /** Takes a peer out of rotation (an operator's drain) or puts it back, whatever its health. */
  setDrained(peer: Peer, drained: boolean): void;
  isDrained(peer: Peer): boolean;
  /** A shared store only: whether it answers now (the local copy serves while it does not). */
  readonly reachable?: boolean;
}
