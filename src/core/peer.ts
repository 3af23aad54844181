import { formatAddress, type Address } from './address.ts';
import type { PoolConfig } from './config.ts';

/**
 * Where a peer comes from: the config file, a registration in Redis (`edgelb register`), a DNS
 * answer (`discovery: { dns }`), or the admin API (`edgelb peers add`).
 */
export type PeerSource = 'config' | 'redis' | 'dns' | 'admin';

/** An upstream server of a pool. `id` (`host:port`) names it in logs, stores and metrics. */
export interface Peer extends Address {
  readonly id: string;
  readonly pool: string;
  /** Its share of the pool's requests, relative to the other peers' weights. */
  readonly weight: number;
  /** Takes requests only while no other peer of its pool is up. */
  readonly backup: boolean;
  readonly source: PeerSource;
  /** When this process learned of it (ms since the epoch). */
  readonly addedAt: number;
}

/** What a pool is told of a peer that joins it at run time. */
export interface PeerSpec extends Address {
  readonly weight: number;
  readonly backup: boolean;
}

/**
 * A pool as the request path sees it: its peers (configured ones in configured order, then the
 * ones that joined at run time) and its settings. `peers` is replaced, never changed in place,
 * when peers come and go (see `Membership`): a new array means a new membership.
 */
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
  const now = Date.now();
  return Object.entries(upstreams).map(([name, config]) => {
    const peers = config.peers.map((spec) => makePeer(name, spec, 'config', now));
    // A pool whose peers come and go cannot size its retries by its peers at start.
    const retries = config.retries ?? (config.discovery === undefined ? Math.min(peers.length - 1, DEFAULT_MAX_RETRIES) : DEFAULT_MAX_RETRIES);
    const retryOn = {
      connectFailure: config.retry_on.includes('connect_failure'),
      timeout: config.retry_on.includes('timeout'),
      statuses: new Set(config.retry_on.filter((item) => typeof item === 'number')),
    };
    return { name, peers, config, retries, retryOn };
  });
}

export function makePeer(pool: string, { weight, backup, host, port }: PeerSpec, source: PeerSource, addedAt: number): Peer {
  return { host, port, id: formatAddress({ host, port }), pool, weight, backup, source, addedAt };
}

/** The peer `peerId` (`host:port`) of pool `poolName`, if the pools have it. */
export function findPeer(pools: readonly Pool[], poolName: string, peerId: string): Peer | undefined {
  return pools.find((pool) => pool.name === poolName)?.peers.find((peer) => peer.id === peerId);
}
