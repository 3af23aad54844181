import type { Context } from 'hono';
import type { Peer, Pool } from '../core/peer.ts';
import { requestId } from './request-id.ts';

/**
 * One client request on its way through the balancer: the pool it goes to and the peers to try
 * in order. Its id is made only when something needs it (an error, a log line), and is the
 * same for all of them.
 *
 * It also records what happened, in plain fields that the request path sets as it goes, so the
 * access log line and the metrics are produced once, at the end, from numbers already at hand.
 */
export class Exchange {
  readonly pool: Pool;
  readonly candidates: Iterable<Peer>;
  readonly context: Context;
  /** `performance.now()` when the balancer took the request. */
  readonly startedAt: number;
  #id: string | undefined;

  /** The peer of the last attempt; undefined when none was tried. */
  peer: Peer | undefined = undefined;
  attempts = 0;
  /** The status sent to the client; 499 when the client left before any answer. */
  status = 0;
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

  constructor(pool: Pool, candidates: Iterable<Peer>, context: Context) {
    this.pool = pool;
    this.candidates = candidates;
    this.context = context;
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
