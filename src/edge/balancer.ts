import { Hono, type Env } from 'hono';
import type { HealthStore } from '../core/health-store.ts';
import { describeError, noHealthyPeer, noRoute, ProxyError } from '../core/errors.ts';
import type { Log } from '../core/log.ts';
import type { Peer, Pool } from '../core/peer.ts';
import type { RouteTable } from '../core/routing/route-table.ts';
import { acceptHealthy } from '../core/selection/accept-healthy.ts';
import { hashKeyOf } from '../core/selection/hash-key.ts';
import { createSelection, type Selection } from '../core/selection/index.ts';
import { errorReply, replyResponse } from './error-response.ts';
import { Exchange, type RoutedExchange } from './exchange.ts';
import { SlowStart } from './slow-start.ts';
import { stickyFirst, stickyPeer } from './sticky.ts';
import type { Forwarder, RequestOutcome } from './forwarder.ts';
import type { RequestObserver } from './request-observer.ts';

export interface BalancerOptions<E extends Env> {
  /** Which pool takes which request (see `buildRoutes`: without `routes`, the first pool takes all). */
  readonly routes: RouteTable;
  readonly store: HealthStore;
  readonly forwarder: Forwarder<E>;
  readonly log: Log;
  /** Told about every request once it is over. */
  readonly observer?: RequestObserver;
}

const NO_PEERS: readonly never[] = [];

interface BuiltSelection {
  readonly over: readonly Peer[];
  readonly selection: Selection;
}
const ACCEPT_ALL = (): boolean => true;

/**
 * The data plane as a Hono app, the same on every runtime: route the request to its pool, take
 * the pool's healthy peers from the store, let the pool's selection order them, and hand the
 * request to the runtime's forwarder. What a proxy error answers is decided here, in one place.
 */
export function createBalancer<E extends Env>(options: BalancerOptions<E>): Hono<E> {
  const { routes, store, forwarder, log, observer } = options;
  const pools = [...new Set(routes.routes.map((route) => route.pool))];
  const outliers = forwarder.outliers;
  const slowStart = new SlowStart(store, outliers);
  const build = (pool: Pool): BuiltSelection => {
    const period = pool.config.slow_start;
    return { over: pool.peers, selection: createSelection(pool, forwarder.stats, period > 0 ? (peer) => slowStart.weight(peer, period) : undefined) };
  };
  const selections = new Map<Pool, BuiltSelection>(pools.map((pool) => [pool, build(pool)]));
  // Built again when peers joined or left the pool (its `peers` is then a new array).
  const selectionOf = (pool: Pool): Selection => {
    let built = selections.get(pool)!;
    if (built.over !== pool.peers) selections.set(pool, (built = build(pool)));
    return built.selection;
  };
  const retryAfterSeconds = new Map(pools.map((pool) => [pool, Math.max(1, Math.ceil(pool.config.health_check.interval / 1000))]));

  const outcome: RequestOutcome = {
    done: (exchange) => observer?.requestDone(exchange),
    failed(exchange, error) {
      const proxyError = error instanceof ProxyError
        ? error
        : new ProxyError('bad_gateway', 'the request could not be proxied', { cause: error });
      const { pool, route } = exchange;
      const logged = { requestId: exchange.id, route: route?.name, pool: pool?.name, status: proxyError.status, reason: proxyError.message };
      // A request that no route takes, or that cannot be read, is the client's doing, not a failure here.
      if (route === undefined) log.info(logged, 'request rejected');
      else log.warn({ ...logged, cause: describeError(proxyError.cause) }, 'request failed');
      const reply = errorReply(proxyError, exchange.id, pool === undefined ? 1 : retryAfterSeconds.get(pool)!);
      if (observer !== undefined) {
        exchange.status = reply.status;
        exchange.bytesOut = reply.body.length;
        exchange.error = proxyError.message;
        observer.requestDone(exchange);
      }
      return reply;
    },
  };

  const app = new Hono<E>();
  app.all('*', (c) => {
    let exchange: Exchange | undefined;
    try {
      const request = forwarder.describe(c);
      const route = routes.match(request);
      if (route === undefined) {
        exchange = new Exchange(undefined, NO_PEERS, c, request);
        return replyResponse(outcome.failed(exchange, noRoute()));
      }
      const { pool } = route;
      const healthy = store.healthyPeers(pool.name);
      const selection = selectionOf(pool);
      // No peer up: with `when_all_down: panic` every configured peer is tried, ejected or not.
      const panic = healthy.length === 0 && pool.config.when_all_down === 'panic';
      const accept = panic ? ACCEPT_ALL : outliers.accept(pool, acceptHealthy(healthy));
      const chosen = selection.candidates(selection.needsKey ? hashKeyOf(request, pool.config.hash_key) : undefined, accept);
      const sticky = pool.config.sticky === undefined ? undefined : stickyPeer(pool, request, accept);
      const candidates = sticky === undefined ? chosen : stickyFirst(sticky, chosen);
      exchange = new Exchange(route, candidates, c, request);
      if (healthy.length === 0 && !panic) return replyResponse(outcome.failed(exchange, noHealthyPeer(pool.name)));
      return forwarder.forward(c, exchange as RoutedExchange, outcome);
    } catch (error) {
      return replyResponse(outcome.failed(exchange ?? new Exchange(undefined, NO_PEERS, c, undefined), error));
    }
  });
  return app;
}
