import type { Context, Env } from 'hono';
import type { RoutedRequest } from '../core/routing/route-table.ts';
import type { ErrorReply } from './error-response.ts';
import type { Exchange, RoutedExchange } from './exchange.ts';
import type { OutlierDetection } from './outlier-detection.ts';
import type { PeerStats } from './peer-stats.ts';

/** What the balancer does once a forwarded request is over; the forwarder calls one of them, once. */
export interface RequestOutcome {
  /** The request was answered, or cut off after its answer began. */
  done(exchange: Exchange): void;
  /** Nothing reached the client: logs why, and says what the client is to be answered. */
  failed(exchange: Exchange, error: unknown): ErrorReply;
}

/**
 * Sends a request upstream: one implementation per runtime (undici on Node, `fetch` on edge
 * runtimes), like undici's `Dispatcher` seam.
 */
export interface Forwarder<E extends Env = Env> {
  /** What this edge knows of each peer from its own traffic (load-aware selection reads it). */
  readonly stats: PeerStats;
  /** Which peers this edge has ejected for failing its requests. */
  readonly outliers: OutlierDetection;

  /**
   * What routing needs of the request, read from the runtime's own request object; throws a
   * `ProxyError` for a request that is not to be proxied (its target is unusable, or it is over
   * a limit: `bad_request`, `uri_too_long`, `headers_too_large`).
   */
  describe(context: Context<E>): RoutedRequest;

  /**
   * Makes the request's attempts as `Attempts` (src/edge/attempts.ts) walks the candidates and
   * decides on retries, reporting each attempt's failure in the runtime's own terms. Returns the
   * response for Hono to return, or a promise of it; a runtime that writes its responses itself
   * returns at once. A failure while nothing has reached the client goes to `outcome.failed`,
   * and the forwarder sends its reply; one found before the request could start may be thrown
   * instead.
   */
  forward(context: Context<E>, exchange: RoutedExchange, outcome: RequestOutcome): Response | Promise<Response>;
}
