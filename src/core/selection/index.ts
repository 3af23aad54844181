import type { Peer, Pool } from '../peer.ts';
import { LeastRequest } from './least-request.ts';
import { RandomChoice } from './random-choice.ts';
import { RoundRobin } from './round-robin.ts';
import type { PeerLoad, Selection } from './selection.ts';
import { WithBackups } from './with-backups.ts';

export type { Accept, PeerLoad, Selection } from './selection.ts';

/** The pool's selection, built over all its peers; `load` is what this edge has in flight to each. */
export function createSelection(pool: Pool, load: PeerLoad): Selection {
  const over = (peers: readonly Peer[]): Selection => {
    switch (pool.config.selection) {
      case 'round_robin':
        return new RoundRobin(peers);
      case 'least_request':
        return new LeastRequest(peers, load);
      case 'random':
        return new RandomChoice(peers);
    }
  };
  const backups = pool.peers.filter((peer) => peer.backup);
  if (backups.length === 0) return over(pool.peers);
  return new WithBackups(over(pool.peers.filter((peer) => !peer.backup)), over(backups));
}
