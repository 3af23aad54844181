import { Hono, type Env } from 'hono';
import type { HealthStore } from '../core/health-store.ts';
import { describeError, noHealthyPeer, ProxyError } from '../core/errors.ts';
import type { Log } from '../core/log.ts';
import type { Pool } from '../core/peer.ts';
import { createSelection, type Selection } from '../core/selection/index.ts';
import { errorReply, replyResponse } from './error-response.ts';
import { Exchange } from './exchange.ts';
import type { Forwarder, RequestOutcome } from './forwarder.ts';
import type { RequestObserver } from './request-observer.ts';

export interface BalancerOptions<E extends Env> {
  /** The configured pools; the first one is the default route. */
  readonly pools: readonly Pool[];
  readonly store: HealthStore;
  readonly forwarder: Forwarder<E>;
  readonly log: Log;
  /** Told about every request once it is over. */
  readonly observer?: RequestObserver;
}

/**
 * The data plane as a Hono app, the same on every runtime: pick the pool, take its healthy
 * peers from the store, let the selection order them, and hand the request to the runtime's
 * forwarder. What a proxy error answers is decided here, in one place.
 */
export function createBalancer<E extends Env>(options: BalancerOptions<E>): Hono<E> {
  const { store, forwarder, log, observer } = options;
  const pool = options.pools[0];
  if (pool === undefined) throw new Error('createBalancer needs at least one pool');
  const selection: Selection = createSelection(pool.config.selection);
  const retryAfterSeconds = Math.max(1, Math.ceil(pool.config.health_check.interval / 1000));

  const outcome: RequestOutcome = {
    done: (exchange) => observer?.requestDone(exchange),
    failed(exchange, error) {
      const proxyError = error instanceof ProxyError
        ? error
        : new ProxyError('bad_gateway', 'the request could not be proxied', { cause: error });
      log.warn(
        { requestId: exchange.id, pool: pool.name, status: proxyError.status, reason: proxyError.message, cause: describeError(proxyError.cause) },
        'request failed',
      );
      const reply = errorReply(proxyError, exchange.id, retryAfterSeconds);
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
    const healthy = store.healthyPeers(pool.name);
    const exchange = new Exchange(pool, selection.candidates(healthy), c);
    if (healthy.length === 0) return replyResponse(outcome.failed(exchange, noHealthyPeer(pool.name)));
    try {
      return forwarder.forward(c, exchange, outcome);
    } catch (error) {
      return replyResponse(outcome.failed(exchange, error));
    }
  });
  return app;
}
