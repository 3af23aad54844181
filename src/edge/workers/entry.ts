/**
 * The Cloudflare Workers (workerd) entry: the same `createBalancer` app as on Node, with the
 * `fetch` forwarder and the shared health read from Redis. Everything is built on the first
 * request of an isolate (no I/O or timers may run at global scope) and kept for the isolate's
 * life: the round robin, the health copy and its TTL are per isolate.
 */
import type { ExecutionContext, Hono } from 'hono';
import { ConfigError, describeError } from '../../core/errors.ts';
import type { HealthStore } from '../../core/health-store.ts';
import { buildPools } from '../../core/peer.ts';
import { buildRoutes } from '../../core/routing/build-routes.ts';
import { shadowedRouteWarnings } from '../../core/routing/shadowed-routes.ts';
import { EdgeRedisReader } from '../../store/edge-redis-reader.ts';
import { MemoryHealthStore } from '../../store/memory.ts';
import { createBalancer } from '../balancer.ts';
import { consoleLog } from './console-log.ts';
import { FetchForwarder } from './fetch-forwarder.ts';
import { configFromBindings, type WorkersBindings } from './bindings.ts';

interface Edge {
  readonly app: Hono;
  readonly store: HealthStore;
  /** Present with `redis`: the health copy to keep fresh. */
  readonly reader?: EdgeRedisReader;
}

let edge: Edge | ConfigError | undefined;

/** How long the first request after an idle spell waits for a fresh read before routing on the old copy. */
const IDLE_READ_WAIT_MS = 100;

function readWithin(reader: EdgeRedisReader, ctx: ExecutionContext, ms: number): Promise<unknown> {
  const read = reader.read();
  ctx.waitUntil(read);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([read, waited]).finally(() => clearTimeout(timer));
}

function build(env: WorkersBindings): Edge | ConfigError {
  const log = consoleLog(env.LOG_LEVEL);
  try {
    const { config, redis, healthTtlMs } = configFromBindings(env);
    const pools = buildPools(config.upstreams);
    const reader = redis === undefined ? undefined : new EdgeRedisReader(pools, {
      location: redis, prefix: config.redis_prefix, log, ...(healthTtlMs !== undefined ? { ttlMs: healthTtlMs } : {}),
    });
    const store = reader ?? new MemoryHealthStore(pools);
    if (reader === undefined) log.warn({}, 'no redis configured: every peer is served and only retries skip dead ones');
    const routes = buildRoutes(config.routes, pools, config.limits.max_body_size);
    for (const warning of shadowedRouteWarnings(routes)) log.warn({ warning }, 'a route never matches');
    const app = createBalancer({ routes, store, forwarder: new FetchForwarder(log), log });
    return reader === undefined ? { app, store } : { app, store, reader };
  } catch (error) {
    if (error instanceof ConfigError) {
      log.error({ problems: error.problems }, 'invalid config');
      return error;
    }
    log.error({ error: describeError(error) }, 'cannot start');
    throw error;
  }
}

export default {
  async fetch(request: Request, env: WorkersBindings, ctx: ExecutionContext): Promise<Response> {
    edge ??= build(env);
    if (edge instanceof ConfigError) {
      return new Response(`500 Internal Server Error: ${edge.message}\n`, { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    }
    const { reader } = edge;
    if (reader !== undefined) {
      // Only an isolate that knows nothing yet waits for Redis; afterwards reads run in the
      // background, except after an idle spell, when the first request waits a little for one.
      if (!reader.known) await reader.read();
      else if (reader.idle()) await readWithin(reader, ctx, IDLE_READ_WAIT_MS);
      else if (reader.due()) ctx.waitUntil(reader.read());
    }
    return edge.app.fetch(request, env, ctx);
  },
};
