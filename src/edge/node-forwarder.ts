import type { ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import { Pool as UndiciPool } from 'undici';
import { describeError, ProxyError } from '../core/errors.ts';
import type { Log } from '../core/log.ts';
import type { Peer, Pool } from '../core/peer.ts';
import type { Exchange } from './exchange.ts';
import type { Forwarder } from './forwarder.ts';
import { clientSignal } from './client-signal.ts';
import { clientAddress, downstreamResponseHeaders, upstreamRequestHeaders } from './headers.ts';
import { RequestBody } from './request-body.ts';
import { mayRetry, upstreamProxyError } from './upstream-failure.ts';

export type NodeEnv = { Bindings: HttpBindings };

/**
 * The Node forwarder: a keep-alive undici pool per peer, and the Node request/response objects
 * used directly (through Hono's `HttpBindings`), so no Web Request/Response is built per request
 * and bodies stream in both directions with backpressure.
 */
export class NodeForwarder implements Forwarder<NodeEnv> {
  readonly #dispatchers = new Map<Peer, UndiciPool>();
  readonly #log: Log;
  readonly #logPeers: boolean;
  #draining = false;

  constructor(pools: readonly Pool[], log: Log) {
    this.#log = log;
    this.#logPeers = log.isLevelEnabled('debug');
    for (const pool of pools) {
      for (const peer of pool.peers) {
        this.#dispatchers.set(peer, new UndiciPool(`http://${peer.id}`, {
          connect: { timeout: pool.config.connect_timeout, noDelay: true },
          headersTimeout: pool.config.read_timeout,
          bodyTimeout: pool.config.read_timeout,
        }));
      }
    }
  }

  /** undici's stream factory: the response head goes to the client, the body is piped after it. */
  readonly #writeResponseHead = (data: { statusCode: number; headers: unknown; opaque: unknown }): ServerResponse => {
    const outgoing = data.opaque as ServerResponse;
    if (this.#draining) outgoing.shouldKeepAlive = false;
    outgoing.writeHead(data.statusCode, downstreamResponseHeaders(data.headers as string[]));
    return outgoing;
  };

  /** From now on every response asks its client to close the connection (graceful shutdown). */
  drain(): void {
    this.#draining = true;
  }

  /** Closes the upstream connections: politely, or (`force`) cutting requests still running. */
  async close({ force = false } = {}): Promise<void> {
    await Promise.all([...this.#dispatchers.values()].map((dispatcher) => (force ? dispatcher.destroy() : dispatcher.close())));
  }

  async forward(context: Context<NodeEnv>, exchange: Exchange): Promise<Response> {
    const { incoming, outgoing } = context.env;
    const { pool } = exchange;
    const method = incoming.method ?? 'GET';
    const path = originFormPath(incoming.url);
    if (path === undefined || method === 'CONNECT') {
      throw new ProxyError('bad_request', `cannot proxy ${method} ${incoming.url ?? ''}`);
    }
    const headers = upstreamRequestHeaders(incoming.rawHeaders, {
      clientIp: clientAddress(incoming.socket.remoteAddress),
      proto: (incoming.socket as TLSSocket).encrypted ? 'https' : 'http',
      rewriteHost: pool.config.host,
      fallbackHost: pool.peers[0]!.id,
    });
    const hasBody = incoming.headers['content-length'] !== undefined
      ? incoming.headers['content-length'] !== '0'
      : incoming.headers['transfer-encoding'] !== undefined;

    // A client that leaves before the answer frees the upstream connection too (long polls,
    // slow peers), instead of holding it until the peer answers.
    const signal = clientSignal(incoming.socket);

    let attempts = 0;
    let failure: unknown;
    for (const peer of exchange.candidates) {
      if (attempts > pool.retries) break;
      attempts++;
      if (this.#logPeers) {
        this.#log.debug({ requestId: exchange.id, pool: pool.name, peer: peer.id, attempt: attempts }, 'upstream peer');
      }
      const body = hasBody ? new RequestBody(incoming) : null;
      try {
        await this.#dispatchers.get(peer)!.stream(
          { path, method, headers, body, opaque: outgoing, responseHeaders: 'raw', signal },
          this.#writeResponseHead,
        );
        return RESPONSE_ALREADY_SENT;
      } catch (error) {
        if (outgoing.headersSent || outgoing.destroyed || incoming.errored) {
          // Part of the response (or the client itself) is gone: all that is left is to cut the
          // connection, as the failing peer did, so the client cannot mistake it for a whole answer.
          outgoing.destroy();
          return RESPONSE_ALREADY_SENT;
        }
        failure = error;
        if (!mayRetry(error, method, body?.started ?? false)) break;
        this.#log.warn(
          { requestId: exchange.id, pool: pool.name, peer: peer.id, error: describeError(error) },
          'peer failed before the request was sent; trying the next one',
        );
      }
    }
    // A half-read request body cannot be drained cheaply; the error response ends the connection.
    if (hasBody && !incoming.readableEnded) outgoing.shouldKeepAlive = false;
    throw failure === undefined
      ? new ProxyError('no_healthy_peer', `no healthy peer in pool "${pool.name}"`)
      : upstreamProxyError(failure);
  }
}


/** The path to send upstream: origin-form as is, absolute-form reduced to its path. */
function originFormPath(url: string | undefined): string | undefined {
  if (url === undefined || url.length === 0) return undefined;
  if (url.charCodeAt(0) === 47) return url;
  if (!/^https?:\/\//i.test(url)) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  } catch {
    return undefined;
  }
}
