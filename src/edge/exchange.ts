import type { Context } from 'hono';
import type { Peer, Pool } from '../core/peer.ts';
import type { Route, RoutedRequest } from '../core/routing/route-table.ts';
import { requestId } from './request-id.ts';

/** Who ended a tunnel: one of its two sides, its idle timeout, or the end of a graceful shutdown. */
export type TunnelEnd = 'client' | 'peer' | 'idle_timeout' | 'shutdown';

/**
 * One client request on its way through the balancer: the route that took it (none for a
 * request no route matches, or one that could not be read), its pool, and the peers to try in
 * order. Its id is made only when something needs it (an error, a log line), and is the same
 * for all of them.
 *
 * It also records what happened, in plain fields that the request path sets as it goes, so the
 * access log line and the metrics are produced once, at the end, from numbers already at hand.
 */
export class Exchange {
  readonly route: Route | undefined;
  readonly pool: Pool | undefined;
  readonly candidates: Iterable<Peer>;
  readonly context: Context;
  /** The request as routing read it; undefined when it could not be read. */
  readonly request: RoutedRequest | undefined;
  /** `performance.now()` when the balancer took the request. */
  readonly startedAt: number;
  #id: string | undefined;

  /** The peer of the last attempt; undefined when none was tried. */
  peer: Peer | undefined = undefined;
  attempts = 0;
  /** The peers whose attempts failed before the last one, in order; undefined when none did. */
  failedPeers: Peer[] | undefined = undefined;
  /** The status sent to the client; 499 when the client left before any answer. */
  status = 0;
  /** The status the last peer answered with; 0 when none answered (the status is edgelb's own). */
  upstreamStatus = 0;
  /** Body bytes taken from the client and sent to it. */
  bytesIn = 0;
  bytesOut = 0;
  /**
   * Milliseconds from the start of the last attempt until its request could be written (a
   * connection was ready: near 0 on a reused one), its response head arrived, and its response
   * ended; -1 for a point not reached.
   */
  upstreamConnectMs = -1;
  upstreamHeaderMs = -1;
  upstreamTotalMs = -1;
  /** Why the response was cut or not sent, when it was. */
  error: string | undefined = undefined;
  /** For a request that became a tunnel (`101`): what ended it. */
  tunnelEnd: TunnelEnd | undefined = undefined;

  constructor(route: Route | undefined, candidates: Iterable<Peer>, context: Context, request: RoutedRequest | undefined) {
    this.route = route;
    this.pool = route?.pool;
    this.candidates = candidates;
    this.context = context;
    this.request = request;
    this.startedAt = performance.now();
  }

  get id(): string {
    return (this.#id ??= requestId(this.context.req.header('x-request-id')));
  }

  /** The id, made from the client's `X-Request-Id` value that a runtime can read cheaply. */
  idFrom(clientRequestId: string | undefined): string {
    return (this.#id ??= requestId(clientRequestId));
  }
}

/** An exchange that a route took: what the forwarders are given. */
export type RoutedExchange = Exchange & { readonly route: Route; readonly pool: Pool; readonly request: RoutedRequest };
