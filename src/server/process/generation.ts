import type { Logger } from 'pino';
import type { Config } from '../../core/config.ts';
import { buildPools } from '../../core/peer.ts';
import { probeLogEvents } from '../../prober/probe-log.ts';
import { ProbeScheduler } from '../../prober/scheduler.ts';
import { upstreamTlsByPool } from '../upstream-tls.ts';
import { RelayedHealthStore } from './health-relay.ts';
import type { HeldDrains } from './held-drains.ts';
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

/** `reloads`: how many configuration reloads came before this generation. */
export async function startGeneration(config: Config, sockets: readonly ListenSocket[], log: Logger, drains: HeldDrains, reloads = 0): Promise<Generation> {
  let workers: WorkerGroup | undefined;
  let prober: ProbeScheduler | undefined;
  let snapshot = () => [] as ReturnType<RelayedHealthStore['snapshot']>;
  if (config.redis === undefined) {
    const pools = buildPools(config.upstreams);
    const store = new RelayedHealthStore(pools, (entry) => workers?.broadcast({ type: 'edgelb:health', entry }));
    prober = new ProbeScheduler(pools, store, probeLogEvents(log), upstreamTlsByPool(pools));
    // Every peer is checked once before any worker serves, so the first request sees real health.
    await prober.start();
    snapshot = () => store.snapshot(pools);
  }
  workers = new WorkerGroup(config, sockets, log, snapshot, drains, reloads);
  try {
    await workers.start();
  } catch (error) {
    prober?.stop();
    throw error;
  }
  const group = workers;
  return {
    config,
    workers: group,
    async drain() {
      prober?.stop();
      await group.drain();
    },
  };
}
