import type { Peer, Pool } from '../peer.ts';
import { ConsistentHash } from './consistent-hash.ts';
import { LeastRequest } from './least-request.ts';
import { PeakEwma, type PeerLatency } from './peak-ewma.ts';
import { RandomChoice } from './random-choice.ts';
import { RoundRobin } from './round-robin.ts';
import type { Selection } from './selection.ts';
import { WithBackups } from './with-backups.ts';

export type { Accept, PeerLoad, Selection } from './selection.ts';
export type { PeerLatency } from './peak-ewma.ts';

/** The pool's selection, built over all its peers; `load` is what this edge sees of each (in flight, latency). */
export function createSelection(pool: Pool, load: PeerLatency): Selection {
  const over = (peers: readonly Peer[]): Selection => {
    switch (pool.config.selection) {
      case 'round_robin':
        return new RoundRobin(peers);
      case 'least_request':
        return new LeastRequest(peers, load);
      case 'ewma':
        return new PeakEwma(peers, load);
      case 'random':
        return new RandomChoice(peers);
      case 'consistent_hash':
        return new ConsistentHash(peers);
    }
  };
  const backups = pool.peers.filter((peer) => peer.backup);
  if (backups.length === 0) return over(pool.peers);
  return new WithBackups(over(pool.peers.filter((peer) => !peer.backup)), over(backups));
}
