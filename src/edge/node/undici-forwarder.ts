import type { Http2ServerRequest } from 'node:http2';
import type { SecureContext, TLSSocket } from 'node:tls';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import { buildConnector, Pool as UndiciPool, type Dispatcher } from 'undici';
import type { LimitsConfig } from '../../core/config.ts';
import type { Log } from '../../core/log.ts';
import type { MembershipListener } from '../../core/membership.ts';
import type { Peer, Pool } from '../../core/peer.ts';
import { upstreamPath, type Route } from '../../core/routing/route-table.ts';
import { upstreamServerName } from '../../core/server-name.ts';
import { declaredBodyTooLarge } from '../body-limit.ts';
import type { ErrorReply } from '../error-response.ts';
import type { RoutedExchange } from '../exchange.ts';
import type { Forwarder, RequestOutcome } from '../forwarder.ts';
import { upstreamRequestHeaders, withRequestId } from '../headers.ts';
import { OutlierDetection } from '../outlier-detection.ts';
import { PeerStats } from '../peer-stats.ts';
import { RetryBudget } from '../retry-budget.ts';
import { ClientConnection } from './client-connection.ts';
import { isWebSocketConnect, NodeRequest, type RequestLimits } from './node-request.ts';
import { ProxiedRequest, type ProxyRuntime } from './proxied-request.ts';
import { OpenTunnels } from './open-tunnels.ts';
import { webSocketKey as newWebSocketKey } from './upgrade-heads.ts';
import { isUpgrade } from './upgrade-requests.ts';
import type { BodyLimits } from './request-body.ts';

export type NodeEnv = { Bindings: HttpBindings };

/** How to speak TLS to a pool's peers (built once per pool by the caller). */
export interface PoolTls {
  readonly secureContext: SecureContext;
  readonly rejectUnauthorized: boolean;
}

/**
 * The undici forwarder: a keep-alive undici pool per peer, dispatched to directly, and the Node
 * request/response objects used directly (through Hono's `HttpBindings`), so no Web
 * Request/Response is built per request and bodies stream in both directions with backpressure.
 */
export class UndiciForwarder implements Forwarder<NodeEnv>, ProxyRuntime, MembershipListener {
  readonly #dispatchers = new Map<Peer, UndiciPool>();
  /** What requests to a peer go through: its pool, wrapped for TLS peers. */
  readonly #targets = new Map<Peer, Dispatcher>();
  readonly log: Log;
  readonly logPeers: boolean;
  readonly stats = new PeerStats();
  readonly outliers: OutlierDetection;
  readonly retryBudget = new RetryBudget(this.stats);
  readonly tunnels = new OpenTunnels();
  /** Requests each peer may have sent or waiting for a connection; past it the peer is full. */
  readonly #capacity = new Map<Peer, number>();
  #draining = false;
  readonly #requestLimits: RequestLimits;
  /** `limits.client_body_timeout`; the rest of each route's body limits is its own. */
  readonly #bodyStallMs: number;
  readonly #bodyLimits = new Map<Route, BodyLimits>();
  readonly #pools = new Map<string, Pool>();
  readonly #tlsByPool: ReadonlyMap<string, PoolTls>;

  /** `tlsByPool` holds the TLS settings of every pool with `tls: true`. */
  constructor(pools: readonly Pool[], log: Log, limits: LimitsConfig, tlsByPool: ReadonlyMap<string, PoolTls> = new Map(), outliers = new OutlierDetection(log)) {
    this.log = log;
    this.outliers = outliers;
    this.#bodyStallMs = limits.client_body_timeout;
    this.#requestLimits = { maxUriLength: limits.max_uri_length, maxHeaders: limits.max_headers };
    this.logPeers = log.isLevelEnabled('debug');
    this.#tlsByPool = tlsByPool;
    for (const pool of pools) {
      if (pool.config.tls && !tlsByPool.has(pool.name)) throw new Error(`pool ${pool.name}: TLS settings missing`);
      this.#pools.set(pool.name, pool);
      for (const peer of pool.peers) this.peerAdded(peer);
    }
  }

  /** A keep-alive undici pool for the peer, used from its first request on. */
  peerAdded(peer: Peer): void {
    const pool = this.#pools.get(peer.pool);
    if (pool === undefined) return;
    const tls = this.#tlsByPool.get(pool.name);
    const connect = { timeout: pool.config.connect_timeout, noDelay: true };
    const dispatcher = new UndiciPool(`${tls ? 'https' : 'http'}://${peer.id}`, {
      connect: tls ? tlsConnector(connect, tls, upstreamServerName(pool.config.host, peer.host)) : connect,
      headersTimeout: pool.config.read_timeout,
      bodyTimeout: pool.config.read_timeout,
      // Used when the peer sends no `Keep-Alive: timeout=` hint; undici follows a hint instead.
      keepAliveTimeout: pool.config.keepalive_timeout,
      connections: pool.config.max_connections_per_peer,
    });
    this.#capacity.set(peer, pool.config.max_connections_per_peer + pool.config.max_queue_per_peer);
    this.#dispatchers.set(peer, dispatcher);
    // undici takes each request's server name from its Host and reconnects when it changes;
    // a client's Host passed through must do neither, so every request carries the same one.
    this.#targets.set(peer, tls
      ? dispatcher.compose((dispatch) => (options, handler) => dispatch({ ...options, servername: peer.id } as typeof options, handler))
      : dispatcher);
  }

  /**
   * A peer that left takes no new request (selection no longer offers it); the requests it has
   * finish, and then its connections close. Its tunnels run on until they end.
   */
  peerRemoved(peer: Peer): void {
    const dispatcher = this.#dispatchers.get(peer);
    if (dispatcher === undefined) return;
    // Without a capacity the peer has no room: a request holding it as a later candidate skips it.
    this.#capacity.delete(peer);
    void dispatcher.close().finally(() => {
      this.#dispatchers.delete(peer);
      this.#targets.delete(peer);
    });
  }

  /** From now on every response asks its client to close the connection (graceful shutdown). */
  drain(): void {
    this.#draining = true;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Requests sent or queued to the peer and not finished yet. */
  inFlight(peer: Peer): number {
    return this.stats.inFlight(peer);
  }

  /**
   * Whether the peer can take one more request. A tunnel left undici's pool with its connection
   * when the peer switched protocols, so it holds none of the pool's connections or queue:
   * tunnels are bounded by `limits.max_connections` instead.
   */
  hasRoom(peer: Peer): boolean {
    const capacity = this.#capacity.get(peer);
    return capacity !== undefined && this.stats.inFlight(peer) - this.tunnels.count(peer) < capacity;
  }

  dispatcherFor(peer: Peer): Dispatcher {
    return this.#targets.get(peer)!;
  }

  /** Closes the upstream connections once their requests finish, or (`force`) cutting requests still running. */
  async close({ force = false } = {}): Promise<void> {
    if (force) this.tunnels.closeAll();
    await Promise.all([...this.#dispatchers.values()].map((dispatcher) => (force ? dispatcher.destroy() : dispatcher.close())));
  }

  describe(context: Context<NodeEnv>): NodeRequest {
    return new NodeRequest(context.env.incoming, this.#requestLimits);
  }

  bodyLimitsFor(route: Route): BodyLimits {
    let limits = this.#bodyLimits.get(route);
    if (limits === undefined) this.#bodyLimits.set(route, (limits = { maxBytes: route.maxBodySize, stallMs: this.#bodyStallMs }));
    return limits;
  }

  /**
   * Starts the request and returns at once: the proxied request writes the answer (the peer's,
   * or the balancer's error reply) to the Node response itself, so no promise is made, awaited or
   * chained per request on the way through Hono.
   */
  forward(context: Context<NodeEnv>, exchange: RoutedExchange, outcome: RequestOutcome): Response {
    const { incoming, outgoing } = context.env;
    const { route, pool } = exchange;
    const request = exchange.request as NodeRequest;
    const { method } = request;
    const tooLarge = declaredBodyTooLarge(route, request);
    if (tooLarge !== undefined) {
      // Refused before anything goes upstream; the body is not read, so the connection ends.
      outgoing.shouldKeepAlive = false;
      sendReply(outgoing, outcome.failed(exchange, tooLarge), method === 'HEAD');
      return RESPONSE_ALREADY_SENT;
    }
    if (this.#draining) outgoing.shouldKeepAlive = false;
    const headers = upstreamRequestHeaders(incoming.rawHeaders, {
      clientIp: request.clientAddress,
      proto: (incoming.socket as TLSSocket).encrypted ? 'https' : 'http',
      rewriteHost: route.upstreamHost ?? pool.config.host,
      targetAuthority: request.targetAuthority,
    });
    const clientRequestId = incoming.headers['x-request-id'];
    const clientId = typeof clientRequestId === 'string' ? clientRequestId : undefined;
    withRequestId(headers, clientId, exchange.idFrom(clientId));
    const path = upstreamPath(route, request.path);
    // An HTTP/2 stream shares its connection with others: it is aborted on its own, and its body
    // needs no length header (it ends with the stream).
    const h2Stream = incoming.httpVersionMajor === 2 ? (incoming as unknown as Http2ServerRequest).stream : undefined;
    // An Upgrade request's bytes after its head belong to the tunnel, not to a body.
    // An HTTP/2 WebSocket (extended CONNECT) goes upstream as an HTTP/1.1 WebSocket handshake.
    const webSocketKey = h2Stream !== undefined && isWebSocketConnect(incoming) ? newWebSocketKey() : undefined;
    if (webSocketKey !== undefined) headers.push('sec-websocket-key', webSocketKey);
    const upgrade = webSocketKey !== undefined ? 'websocket' : isUpgrade(incoming) ? incoming.headers.upgrade : undefined;
    const hasBody = upgrade !== undefined ? false : incoming.headers['content-length'] !== undefined
      ? incoming.headers['content-length'] !== '0'
      : incoming.headers['transfer-encoding'] !== undefined || (h2Stream !== undefined && !h2Stream.endAfterHeaders);
    const connection = ClientConnection.of(h2Stream ?? incoming.socket);

    const proxied = new ProxiedRequest(this, exchange, context.env, { path, method: webSocketKey === undefined ? method : 'GET', headers, hasBody, upgrade, webSocketKey }, (error) => {
      if (error === undefined) outcome.done(exchange);
      else {
        // A half-read request body cannot be drained cheaply; the error response ends the connection.
        if (hasBody && !incoming.readableEnded) outgoing.shouldKeepAlive = false;
        sendReply(outgoing, outcome.failed(exchange, error), method === 'HEAD');
      }
      connection.ended(proxied);
    });
    connection.submit(proxied);
    return RESPONSE_ALREADY_SENT;
  }
}

/**
 * Sends an error reply (its head only, to a HEAD), unless an answer has begun or the client is
 * gone: then there is no one to tell.
 */
function sendReply(outgoing: NodeEnv['Bindings']['outgoing'], reply: ErrorReply, headOnly: boolean): void {
  if (outgoing.headersSent || outgoing.writableEnded || outgoing.destroyed) return;
  outgoing.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
  if (headOnly) outgoing.end();
  else outgoing.end(reply.body);
}

/**
 * Connects to a TLS peer with `servername` as SNI and as the name its certificate must carry;
 * with none (an IP address), no SNI is sent and the certificate must carry the peer's IP.
 */
function tlsConnector(connect: buildConnector.BuildOptions, tls: PoolTls, servername: string | undefined): buildConnector.connector {
  const connector = buildConnector({ ...connect, ...tls });
  return (options, callback) => connector({ ...options, servername }, callback);
}
