import type { Peer, Pool } from '../peer.ts';
import { ConsistentHash } from './consistent-hash.ts';
import { LeastRequest } from './least-request.ts';
import { PeakEwma, type PeerLatency } from './peak-ewma.ts';
import { RandomChoice } from './random-choice.ts';
import { RoundRobin } from './round-robin.ts';
import { configuredWeight, type Selection, type Weight } from './selection.ts';
import { WithBackups } from './with-backups.ts';

export type { Accept, PeerLoad, Selection, Weight } from './selection.ts';
export type { PeerLatency } from './peak-ewma.ts';

/**
 * The pool's selection, built over all its peers; `load` is what this edge sees of each (in
 * flight, latency), `weight` the weight each has now (less than configured while it slow-starts).
 */
export function createSelection(pool: Pool, load: PeerLatency, weight: Weight = configuredWeight): Selection {
  const over = (peers: readonly Peer[]): Selection => {
    switch (pool.config.selection) {
      case 'round_robin':
        return new RoundRobin(peers, weight);
      case 'least_request':
        return new LeastRequest(peers, load, Math.random, weight);
      case 'ewma':
        return new PeakEwma(peers, load, Math.random, weight);
      case 'random':
        return new RandomChoice(peers, Math.random, weight);
      case 'consistent_hash':
        return new ConsistentHash(peers);
    }
  };
  const backups = pool.peers.filter((peer) => peer.backup);
  if (backups.length === 0) return over(pool.peers);
  return new WithBackups(over(pool.peers.filter((peer) => !peer.backup)), over(backups));
}
