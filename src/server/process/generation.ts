import type { Logger } from 'pino';
import type { Config } from '../../core/config.ts';
import { buildPools } from '../../core/peer.ts';
import { ProbeScheduler } from '../../prober/scheduler.ts';
import { RelayedHealthStore } from './health-relay.ts';
import type { ListenSocket } from './listen-sockets.ts';
import { WorkerGroup } from './worker-group.ts';

/**
 * What one config runs in the primary: the prober (one for all workers: embedded health is
 * decided once and passed on) and the workers that serve. A reload starts a new generation on
 * the same listening sockets before the old one drains.
 */
export interface Generation {
  readonly config: Config;
  readonly workers: WorkerGroup;
  /** Stops probing and drains the workers. */
  drain(): Promise<void>;
}

export async function startGeneration(config: Config, sockets: readonly ListenSocket[], log: Logger): Promise<Generation> {
  const pools = buildPools(config.upstreams);
  let workers: WorkerGroup | undefined;
  const store = new RelayedHealthStore(pools, (entry) => workers?.broadcast({ type: 'edgelb:health', entry }));
  const prober = new ProbeScheduler(pools, store, {
    onFlip(peer, up, reason) {
      if (up) log.info({ pool: peer.pool, peer: peer.id }, 'peer up');
      else log.warn({ pool: peer.pool, peer: peer.id, reason }, 'peer down');
    },
    onInconclusive(peer, reason) {
      log.warn({ pool: peer.pool, peer: peer.id, reason }, 'health check could not run here; not counted');
    },
  });
  // Every peer is checked once before any worker serves, so the first request sees real health.
  await prober.start();
  workers = new WorkerGroup(config, sockets, log, () => store.snapshot(pools));
  try {
    await workers.start();
  } catch (error) {
    prober.stop();
    throw error;
  }
  const group = workers;
  return {
    config,
    workers: group,
    async drain() {
      prober.stop();
      await group.drain();
    },
  };
}
