import type { Logger } from 'pino';
import type { Config } from '../core/config.ts';
import type { HealthStore } from '../core/health-store.ts';
import type { Membership } from '../core/membership.ts';
import { probeLogEvents } from '../prober/probe-log.ts';
import { ProbeScheduler, type ProbeEvents } from '../prober/scheduler.ts';
import type { CheckTls } from '../prober/http-check.ts';
import { MemoryHealthStore } from '../store/memory.ts';
import { sharedStoreLocation } from './shared-store-location.ts';

/** Where an edge's healthy set comes from, and how to let go of it at shutdown. */
export interface HealthSource {
  readonly store: HealthStore;
  stop(): Promise<void>;
}

/**
 * With `redis`: the shared health the probers write, followed through a local copy.
 * Without: the embedded store and prober. Either way every peer's health is known (or the last
 * known set is loaded) before the listeners open, so the first request already sees it.
 */
export async function startHealth(
  config: Config, membership: Membership, log: Logger, checkTls: ReadonlyMap<string, CheckTls>,
  /** Called with the store before the first check, for those who watch the checks (metrics). */
  watch: (store: HealthStore) => ProbeEvents = () => ({}),
): Promise<HealthSource> {
  if (config.redis !== undefined) {
    const location = sharedStoreLocation(config, 'edge');
    if ('error' in location) throw new Error(location.error);
    // Loaded only here: an embedded edge never pays for the Redis client's code.
    const { RedisHealthStore } = await import('../store/redis-health-store.ts');
    const store = await RedisHealthStore.open({ membership, location, prefix: config.redis_prefix, log });
    watch(store);
    return { store, stop: () => store.close() };
  }
  const store = new MemoryHealthStore(membership.pools);
  const prober = new ProbeScheduler(membership.pools, store, { ...probeLogEvents(log), ...watch(store) }, checkTls);
  membership.listen(store);
  membership.listen(prober);
  await prober.start();
  return { store, stop: async () => prober.stop() };
}
