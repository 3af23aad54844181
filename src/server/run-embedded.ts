import type { Logger } from 'pino';
import type { Config } from '../core/config.ts';
import { formatAddress } from '../core/address.ts';
import { MAX_DURATION_MS } from '../core/duration.ts';
import { buildPools, type Pool } from '../core/peer.ts';
import { createBalancer } from '../edge/balancer.ts';
import { NodeForwarder } from '../edge/node-forwarder.ts';
import { NodeListeners } from '../edge/node.ts';
import type { HealthStore } from '../core/health-store.ts';
import { ProbeScheduler } from '../prober/scheduler.ts';
import { MemoryHealthStore } from '../store/memory.ts';

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

/** A worker process's edge: health comes from its primary, the listening sockets are inherited. */
export interface WorkerEdge {
  readonly pools: readonly Pool[];
  readonly store: HealthStore;
  readonly listenFds: readonly number[];
}

/**
 * Embedded mode: health in memory, the prober in this process. Every peer is checked once
 * before the listeners open, so the first request already sees real health. A worker (`worker`)
 * runs no prober: its primary probes and keeps its store up to date.
 */
export async function runEmbedded(config: Config, log: Logger, worker?: WorkerEdge): Promise<RunningBalancer> {
  if (worker !== undefined) return runEdge(config, log, worker, { stop() {} });
  const pools = buildPools(config.upstreams);
  const store = new MemoryHealthStore(pools);
  const prober = new ProbeScheduler(pools, store, {
    onFlip(peer, up, reason) {
      if (up) log.info({ pool: peer.pool, peer: peer.id }, 'peer up');
      else log.warn({ pool: peer.pool, peer: peer.id, reason }, 'peer down');
    },
    onInconclusive(peer, reason) {
      log.warn({ pool: peer.pool, peer: peer.id, reason }, 'health check could not run here; not counted');
    },
  });
  await prober.start();
  return runEdge(config, log, { pools, store, listenFds: [] }, prober);
}

async function runEdge(config: Config, log: Logger, { pools, store, listenFds }: WorkerEdge, prober: { stop(): void }): Promise<RunningBalancer> {
  const forwarder = new NodeForwarder(pools, log);
  const app = createBalancer({ pools, store, forwarder, log });
  let listeners: NodeListeners;
  try {
    listeners = await NodeListeners.open(app, config.listen, { log, clientIdleTimeoutMs: clientIdleTimeout(pools), listenFds });
  } catch (error) {
    prober.stop();
    await forwarder.close();
    throw error;
  }
  log.info(
    {
      listen: listeners.addresses().map((a) => formatAddress({ host: a.address, port: a.port })),
      pools: Object.fromEntries(pools.map((pool) => [pool.name, pool.peers.map((peer) => peer.id)])),
    },
    listenFds.length > 0 ? 'worker serving' : 'edgelb is serving',
  );
  return {
    async stop() {
      prober.stop();
      forwarder.drain();
      const result = await listeners.close(config.grace_period_seconds * 1000);
      await forwarder.close({ force: result.forced });
      return result;
    },
  };
}
