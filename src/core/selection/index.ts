import type { PoolConfig } from '../config.ts';
import { RoundRobin } from './round-robin.ts';
import type { Selection } from './selection.ts';

export type { Selection } from './selection.ts';

export function createSelection(algorithm: PoolConfig['selection']): Selection {
  switch (algorithm) {
    case 'round_robin':
      return new RoundRobin();
  }
}
