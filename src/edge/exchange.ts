import type { Context } from 'hono';
import type { Peer, Pool } from '../core/peer.ts';
import { requestId } from './request-id.ts';

/**
 * One client request on its way through the balancer: the pool it goes to and the peers to try
 * in order. Its id is made only when something needs it (an error, a debug log line), and is the
 * same for all of them.
 */
export class Exchange {
  readonly pool: Pool;
  readonly candidates: Iterable<Peer>;
  readonly #context: Context;
  #id: string | undefined;

  constructor(pool: Pool, candidates: Iterable<Peer>, context: Context) {
    this.pool = pool;
    this.candidates = candidates;
    this.#context = context;
  }

  get id(): string {
    return (this.#id ??= requestId(this.#context.req.header('x-request-id')));
  }
}
