import type { TLSSocket } from 'node:tls';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import { Pool as UndiciPool } from 'undici';
import { ProxyError } from '../core/errors.ts';
import type { Log } from '../core/log.ts';
import type { Peer, Pool } from '../core/peer.ts';
import type { Exchange } from './exchange.ts';
import type { Forwarder } from './forwarder.ts';
import { inFlightOn } from './client-connection.ts';
import { clientAddress, upstreamRequestHeaders } from './headers.ts';
import { ProxiedRequest, type ProxyRuntime } from './proxied-request.ts';

export type NodeEnv = { Bindings: HttpBindings };

/**
 * The Node forwarder: a keep-alive undici pool per peer, dispatched to directly, and the Node
 * request/response objects used directly (through Hono's `HttpBindings`), so no Web
 * Request/Response is built per request and bodies stream in both directions with backpressure.
 */
export class NodeForwarder implements Forwarder<NodeEnv>, ProxyRuntime {
  readonly #dispatchers = new Map<Peer, UndiciPool>();
  readonly log: Log;
  readonly logPeers: boolean;
  #draining = false;

  constructor(pools: readonly Pool[], log: Log) {
    this.log = log;
    this.logPeers = log.isLevelEnabled('debug');
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

  /** From now on every response asks its client to close the connection (graceful shutdown). */
  drain(): void {
    this.#draining = true;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Requests sent or queued to the peer and not finished yet (undici keeps the count). */
  inFlight(peer: Peer): number {
    return this.#dispatchers.get(peer)?.stats.size ?? 0;
  }

  dispatcherFor(peer: Peer): UndiciPool {
    return this.#dispatchers.get(peer)!;
  }

  /** Closes the upstream connections: politely, or (`force`) cutting requests still running. */
  async close({ force = false } = {}): Promise<void> {
    await Promise.all([...this.#dispatchers.values()].map((dispatcher) => (force ? dispatcher.destroy() : dispatcher.close())));
  }

  async forward(context: Context<NodeEnv>, exchange: Exchange): Promise<Response> {
    const { incoming, outgoing } = context.env;
    const method = incoming.method ?? 'GET';
    const target = requestTarget(incoming.url);
    if (target === undefined || method === 'CONNECT') {
      throw new ProxyError('bad_request', `cannot proxy ${method} ${incoming.url ?? ''}`);
    }
    if (this.#draining) outgoing.shouldKeepAlive = false;
    const { pool } = exchange;
    const headers = upstreamRequestHeaders(incoming.rawHeaders, {
      clientIp: clientAddress(incoming.socket.remoteAddress),
      proto: (incoming.socket as TLSSocket).encrypted ? 'https' : 'http',
      rewriteHost: pool.config.host,
      targetAuthority: target.authority,
    });
    const { path } = target;
    const hasBody = incoming.headers['content-length'] !== undefined
      ? incoming.headers['content-length'] !== '0'
      : incoming.headers['transfer-encoding'] !== undefined;
    const inFlight = inFlightOn(incoming.socket);

    return new Promise((resolve, reject) => {
      const proxied = new ProxiedRequest(this, exchange, context.env, { path, method, headers, hasBody }, (error) => {
        inFlight.delete(proxied);
        if (error === undefined) return resolve(RESPONSE_ALREADY_SENT);
        // A half-read request body cannot be drained cheaply; the error response ends the connection.
        if (hasBody && !incoming.readableEnded) outgoing.shouldKeepAlive = false;
        reject(error);
      });
      inFlight.add(proxied);
      proxied.start();
    });
  }
}

/**
 * The path to send upstream and, for an absolute-form target (`GET http://host/path`), its
 * authority. The path is passed on as the client wrote it, without normalising it.
 */
function requestTarget(url: string | undefined): { path: string; authority?: string } | undefined {
  if (url === undefined || url.length === 0) return undefined;
  if (url.charCodeAt(0) === 47) return { path: url };
  const absolute = /^https?:\/\/([^/?#]+)([^#]*)/i.exec(url);
  if (absolute === null) return undefined;
  const rest = absolute[2]!;
  // Credentials in the URL (`user:pass@host`) are not part of the Host.
  const authority = absolute[1]!.slice(absolute[1]!.lastIndexOf('@') + 1);
  return { authority, path: rest.startsWith('/') ? rest : `/${rest}` };
}
