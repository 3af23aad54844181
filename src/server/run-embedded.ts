import type { Logger } from 'pino';
import type { Config } from '../core/config.ts';
import { formatAddress } from '../core/address.ts';
import { describeError } from '../core/errors.ts';
import { MAX_DURATION_MS } from '../core/duration.ts';
import { buildPools, type Pool } from '../core/peer.ts';
import { createBalancer } from '../edge/balancer.ts';
import { NodeForwarder } from '../edge/node-forwarder.ts';
import { NodeListeners } from '../edge/node.ts';
import { ProbeScheduler } from '../prober/scheduler.ts';
import { MemoryHealthStore } from '../store/memory.ts';
import { Observability } from './observability.ts';

/** How much longer than the slowest peer's read timeout a client connection may stay idle. */
const CLIENT_IDLE_MARGIN_MS = 1_000;

/** Longer than any pool's read timeout, or none when a pool waits without limit (0). */
function clientIdleTimeout(pools: readonly Pool[]): number {
  const readTimeouts = pools.map((pool) => pool.config.read_timeout);
  if (readTimeouts.includes(0)) return 0;
  return Math.min(Math.max(...readTimeouts) + CLIENT_IDLE_MARGIN_MS, MAX_DURATION_MS);
}

/** A running balancer; `stop` is the graceful shutdown. */
export interface RunningBalancer {
  stop(): Promise<{ forced: boolean }>;
}

/**
 * Embedded mode: health in memory, the prober in this process. Every peer is checked once
 * before the listeners open, so the first request already sees real health.
 */
export async function runEmbedded(config: Config, log: Logger): Promise<RunningBalancer> {
  const pools = buildPools(config.upstreams);
  const store = new MemoryHealthStore(pools);
  const observability = new Observability(config, pools, store, log);
  const prober = new ProbeScheduler(pools, store, {
    onFlip(peer, up, reason) {
      if (up) log.info({ pool: peer.pool, peer: peer.id }, 'peer up');
      else log.warn({ pool: peer.pool, peer: peer.id, reason }, 'peer down');
    },
    onInconclusive(peer, reason) {
      log.warn({ pool: peer.pool, peer: peer.id, reason }, 'health check could not run here; not counted');
    },
    onCheck: (peer, result) => observability.healthChecked(peer, result),
  });
  await prober.start();
  const forwarder = new NodeForwarder(pools, log);
  const app = createBalancer({ pools, store, forwarder, log, observer: observability.observer });
  let listeners: NodeListeners;
  let admin: string | undefined;
  try {
    listeners = await NodeListeners.open(app, config.listen, { log, clientIdleTimeoutMs: clientIdleTimeout(pools) });
    admin = await observability.serve(forwarder, listeners).catch(async (error: unknown) => {
      await listeners.close(0);
      throw new Error(`admin.listen: ${describeError(error)}`);
    });
  } catch (error) {
    prober.stop();
    await forwarder.close();
    await observability.close();
    throw error;
  }
  log.info(
    {
      listen: listeners.addresses().map((a) => formatAddress({ host: a.address, port: a.port })),
      pools: Object.fromEntries(pools.map((pool) => [pool.name, pool.peers.map((peer) => peer.id)])),
      admin,
    },
    'edgelb is serving',
  );
  return {
    async stop() {
      prober.stop();
      forwarder.drain();
      const result = await listeners.close(config.grace_period_seconds * 1000);
      await forwarder.close({ force: result.forced });
      await observability.close();
      return result;
    },
  };
}
