import type { Logger } from 'pino';
import type { Config } from '../../core/config.ts';
import { Membership } from '../../core/membership.ts';
import { membershipLog } from '../../core/membership-log.ts';
import { buildPools } from '../../core/peer.ts';
import { probeLogEvents } from '../../prober/probe-log.ts';
import { ProbeScheduler } from '../../prober/scheduler.ts';
import { DnsDiscovery } from '../../store/dns-discovery.ts';
import { upstreamTlsByPool } from '../upstream-tls.ts';
import { RelayedHealthStore } from './health-relay.ts';
import type { HeldDrains } from './held-drains.ts';
import type { HeldPeers } from './held-peers.ts';
import type { HeldEjections } from './held-ejections.ts';
import type { Gatherer } from './gatherer.ts';
import { applyPeerEntry, peerEntry } from './messages.ts';
import type { ListenSocket } from './listen-sockets.ts';
import { WorkerGroup } from './worker-group.ts';

/**
 * What one config runs in the primary: in embedded mode the prober (one for all workers: health
 * is decided once and passed on), and the workers that serve. With `redis` the probers are
 * processes of their own and every worker follows Redis. A reload starts a new generation on the
 * same listening sockets before the old one drains.
 */
export interface Generation {
  readonly config: Config;
  readonly workers: WorkerGroup;
  /** Stops probing and drains the workers. */
  drain(): Promise<void>;
}

/** What the primary holds across generations: operators' drains and the peers they added, ejections, and the workers' reports. */
export interface Held {
  readonly drains: HeldDrains;
  readonly peers: HeldPeers;
  readonly ejections: HeldEjections;
  readonly gatherer: Gatherer;
  /** When the primary started. */
  readonly startedAt: number;
}

/** `reloads`: how many configuration reloads came before this generation. */
export async function startGeneration(config: Config, sockets: readonly ListenSocket[], log: Logger, held: Held, reloads = 0): Promise<Generation> {
  let workers: WorkerGroup | undefined;
  let prober: ProbeScheduler | undefined;
  let membership: Membership | undefined;
  let dns: DnsDiscovery | undefined;
  let snapshot = () => [] as ReturnType<RelayedHealthStore['snapshot']>;
  if (config.redis === undefined) {
    const pools = buildPools(config.upstreams);
    membership = new Membership(pools);
    // Before anyone listens: they are the generation's peers from the start, as configured ones are.
    held.peers.restore(membership);
    const store = new RelayedHealthStore(pools, (entry) => workers?.broadcast({ type: 'edgelb:health', entry }));
    prober = new ProbeScheduler(pools, store, probeLogEvents(log), upstreamTlsByPool(pools));
    membership.listen(membershipLog(log));
    membership.listen(store);
    // The first answers join before the first checks, which every peer gets before workers serve.
    dns = new DnsDiscovery(membership, log);
    if (dns.wanted) await dns.start();
    membership.listen(prober);
    // Workers hear of a peer before its first check's verdict: the verdict is relayed after it.
    membership.listen({
      peerAdded: (peer) => workers?.broadcast({ type: 'edgelb:peer', entry: peerEntry(peer), joined: true }),
      peerRemoved: (peer) => workers?.broadcast({ type: 'edgelb:peer', entry: peerEntry(peer), joined: false }),
    });
    // Every peer is checked once before any worker serves, so the first request sees real health.
    await prober.start();
    snapshot = () => store.snapshot(pools);
  }
  const joined = () => membership === undefined ? [] : membership.pools.flatMap((pool) => pool.peers.filter((peer) => peer.source !== 'config').map(peerEntry));
  workers = new WorkerGroup({
    config, sockets, log, health: () => snapshot(), peers: joined, drains: held.drains, ejections: held.ejections, gatherer: held.gatherer, startedAt: held.startedAt, reloads,
    peerChanged(entry, added) {
      if (membership === undefined) return;
      held.peers.apply(entry, added);
      applyPeerEntry(membership, entry, added);
    },
  });
  try {
    await workers.start();
  } catch (error) {
    dns?.stop();
    prober?.stop();
    throw error;
  }
  const group = workers;
  return {
    config,
    workers: group,
    async drain() {
      dns?.stop();
      prober?.stop();
      await group.drain();
    },
  };
}
