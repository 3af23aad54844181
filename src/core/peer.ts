import { formatAddress, type Address } from './address.ts';
import type { PoolConfig } from './config.ts';

/** An upstream server of a pool. `id` (`host:port`) names it in logs, stores and metrics. */
export interface Peer extends Address {
  readonly id: string;
  readonly pool: string;
  /** Its share of the pool's requests, relative to the other peers' weights. */
  readonly weight: number;
  /** Takes requests only while no other peer of its pool is up. */
  readonly backup: boolean;
}

/** A pool as the request path sees it: its peers in configured order and its settings. */
export interface Pool {
  readonly name: string;
  readonly peers: readonly Peer[];
  readonly config: PoolConfig;
  /** How many more peers a request may try after a connection failure. */
  readonly retries: number;
  /** What `retry_on` sends on to the next peer. */
  readonly retryOn: RetryOn;
}

export interface RetryOn {
  readonly connectFailure: boolean;
  readonly timeout: boolean;
  readonly statuses: ReadonlySet<number>;
}

const DEFAULT_MAX_RETRIES = 3;

export function buildPools(upstreams: Record<string, PoolConfig>): Pool[] {
  return Object.entries(upstreams).map(([name, config]) => {
    const peers = config.peers.map(({ weight, backup, ...address }) => ({ ...address, id: formatAddress(address), pool: name, weight, backup }));
    const retries = config.retries ?? Math.min(peers.length - 1, DEFAULT_MAX_RETRIES);
    const retryOn = {
      connectFailure: config.retry_on.includes('connect_failure'),
      timeout: config.retry_on.includes('timeout'),
      statuses: new Set(config.retry_on.filter((item) => typeof item === 'number')),
    };
    return { name, peers, config, retries, retryOn };
  });
}

/** The peer `peerId` (`host:port`) of pool `poolName`, if the pools have it. */
export function findPeer(pools: readonly Pool[], poolName: string, peerId: string): Peer | undefined {
  return pools.find((pool) => pool.name === poolName)?.peers.find((peer) => peer.id === peerId);
}
