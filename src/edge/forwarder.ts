import type { Context, Env } from 'hono';
import type { Exchange } from './exchange.ts';

/**
 * Sends a request upstream: one implementation per runtime (undici on Node, `fetch` on edge
 * runtimes), like undici's `Dispatcher` seam.
 */
export interface Forwarder<E extends Env = Env> {
  /**
   * Tries `exchange.candidates` in order, moving on only when a retry cannot duplicate work (the
   * connection failed before anything was sent, or an idempotent request lost its connection)
   * and at most `pool.retries` times. Resolves with the response for Hono to return; rejects with
   * a `ProxyError` only while nothing has reached the client yet.
   */
  forward(context: Context<E>, exchange: Exchange): Promise<Response>;
}
