import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Dispatcher } from 'undici';
import { describeError, ProxyError } from '../../core/errors.ts';
import type { Peer } from '../../core/peer.ts';
import type { Route } from '../../core/routing/route-table.ts';
import { Attempts, type AttemptRuntime } from '../attempts.ts';
import type { RoutedExchange } from '../exchange.ts';
import { downstreamResponseHeaders } from '../headers.ts';
import { stickyCookie } from '../sticky.ts';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ClientRequest } from './client-connection.ts';
import { RequestBody, type BodyLimits } from './request-body.ts';
import type { OpenTunnels } from './open-tunnels.ts';
import { Tunnel, type TunnelClient } from './tunnel.ts';
import { http2Head, switchingHead, webSocketAccept } from './upgrade-heads.ts';
import { classifyUpstreamError } from './upstream-failure.ts';

/** What a proxied request needs from the forwarder that runs it. */
export interface ProxyRuntime extends AttemptRuntime {
  dispatcherFor(peer: Peer): Dispatcher;
  bodyLimitsFor(route: Route): BodyLimits;
  readonly draining: boolean;
  readonly tunnels: OpenTunnels;
}

export interface UpstreamRequest {
  readonly path: string;
  readonly method: string;
  readonly headers: string[];
  readonly hasBody: boolean;
  /** The protocol of an HTTP/1.1 Upgrade request (`websocket`, ...), sent with `Connection: upgrade`. */
  readonly upgrade?: string | undefined;
  /** For an HTTP/2 extended CONNECT: the `Sec-WebSocket-Key` made for its HTTP/1.1 upgrade. */
  readonly webSocketKey?: string | undefined;
}

/**
 * One client request on its way upstream, and the undici dispatch handler of each attempt
 * (attempts run one after another, so one object serves them all). Which peer each attempt goes
 * to, and whether a failed one is followed by another, is the runtime-neutral `Attempts`' to
 * decide; this makes the attempts and reports on them. The response is written straight to the
 * Node response with backpressure: no promise, stream wrapper or listener set per chunk or per
 * attempt. `settled` is called once, with nothing when a response (or a cut connection) reached
 * the client, or with the error the client must be told about.
 */
export class ProxiedRequest implements Dispatcher.DispatchHandler, ClientRequest {
  readonly #runtime: ProxyRuntime;
  readonly #exchange: RoutedExchange;
  readonly #attempts: Attempts;
  readonly #incoming: IncomingMessage;
  readonly #outgoing: ServerResponse;
  readonly #request: UpstreamRequest;
  readonly #settled: (error?: ProxyError) => void;
  #body: RequestBody | null = null;
  #controller: Dispatcher.DispatchController | undefined;
  /** The final response head, from the peer's answer until it is written to the client. */
  #head: { statusCode: number; headers: Record<string, string | string[] | undefined> } | undefined;
  #headTurns = 0;
  /** The peer's answer was dropped for a retry (`retry_on`), and undici is letting it go. */
  #retryingStatus = false;
  #tunnel: Tunnel | undefined;
  #responded = false;
  #abortedBy: Error | undefined;
  #resume: (() => void) | undefined;
  #attemptStartedAt = 0;

  constructor(
    runtime: ProxyRuntime,
    exchange: RoutedExchange,
    bindings: { incoming: IncomingMessage; outgoing: ServerResponse },
    request: UpstreamRequest,
    settled: (error?: ProxyError) => void,
  ) {
    this.#runtime = runtime;
    this.#exchange = exchange;
    this.#attempts = new Attempts(exchange, runtime);
    this.#incoming = bindings.incoming;
    this.#outgoing = bindings.outgoing;
    this.#request = request;
    this.#settled = settled;
  }

  /** Sends the request to the next candidate peer, or settles when none may be tried. */
  start(): void {
    const peer = this.#attempts.next();
    if (peer === undefined) {
      this.#settled(this.#attempts.error());
      return;
    }
    this.#controller = undefined;
    const exchange = this.#exchange;
    exchange.upstreamConnectMs = exchange.upstreamHeaderMs = -1;
    // The first attempt starts as the request arrives; only retries need a clock reading.
    this.#attemptStartedAt = exchange.attempts === 1 ? exchange.startedAt : performance.now();
    const { path, method, headers, hasBody, upgrade } = this.#request;
    this.#body = hasBody ? new RequestBody(this.#incoming, this.#runtime.bodyLimitsFor(exchange.route)) : null;
    this.#runtime.dispatcherFor(peer).dispatch({ path, method, headers, body: this.#body, upgrade }, this);
  }

  /** The client went away: stop the upstream request too. */
  abort(reason: Error): void {
    // A tunnel sees its client go by itself.
    if (this.#tunnel !== undefined) return;
    this.#abortedBy = reason;
    if (this.#exchange.attempts > 0) {
      this.#controller?.abort(reason);
      return;
    }
    // Never started (it waited behind others on its connection): over, with nobody to answer.
    this.#exchange.status = 499;
    this.#exchange.error = describeError(reason);
    this.#settled();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    this.#exchange.upstreamConnectMs = performance.now() - this.#attemptStartedAt;
    if (this.#abortedBy !== undefined) controller.abort(this.#abortedBy);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    // Interim 1xx answers (103 Early Hints, ...) are not passed on; the final one follows.
    if (statusCode < 200) return;
    const exchange = this.#exchange;
    const latencyMs = performance.now() - this.#attemptStartedAt;
    if (this.#attempts.retriesStatus(statusCode, latencyMs, this.#body?.started ?? false)) {
      // Nothing of this answer reaches the client. Its body is read and dropped, which keeps the
      // connection for reuse (an abort would close it); the next peer is asked when it ends.
      this.#retryingStatus = true;
      return;
    }
    exchange.status = exchange.upstreamStatus = statusCode;
    exchange.upstreamHeaderMs = latencyMs;
    this.#attempts.answered(latencyMs, statusCode);
    // The head goes out with the first body bytes when they come in the same read, and a body
    // broken from its first byte (a chunk size no one can read) still gets a clean 502. Else it
    // goes out on its own, so a stream (server-sent events, a long poll) has its head at once, as
    // the peer sent it, but only two turns of the event loop later: undici reports a broken body
    // when the peer's socket has closed, which happens in the close phase after the read.
    this.#headTurns = 0;
    this.#head = { statusCode, headers };
    setImmediate(ProxiedRequest.#flushHead, this);
  }

  /** Writes the pending response head; `flush` sends it now instead of with the first body bytes. */
  #writeHead(flush: boolean): void {
    const head = this.#head!;
    this.#head = undefined;
    const outgoing = this.#outgoing;
    if (this.#runtime.draining) outgoing.shouldKeepAlive = false;
    // If Node refuses the head (a header it will not send), undici aborts the attempt and the
    // client still gets a clean 502, since nothing has been sent yet.
    const headers = downstreamResponseHeaders(head.headers);
    const exchange = this.#exchange;
    if (exchange.pool.config.sticky !== undefined) {
      const cookie = stickyCookie(exchange.pool, exchange.request, exchange.peer!);
      if (cookie !== undefined) headers.push('set-cookie', cookie);
    }
    outgoing.writeHead(head.statusCode, headers);
    this.#responded = true;
    if (flush) outgoing.flushHeaders();
  }

  /** One turn of the event loop after the head came (static: no closure made per request). */
  static #flushHead(request: ProxiedRequest): void {
    if (request.#head === undefined || request.#outgoing.destroyed) return;
    if (++request.#headTurns < 2) {
      setImmediate(ProxiedRequest.#flushHead, request);
      return;
    }
    try {
      request.#writeHead(true);
    } catch (error) {
      request.#controller?.abort(error as Error);
    }
  }

  /**
   * The peer switched protocols: the client is told so (`101`, or `200` to an HTTP/2 extended
   * CONNECT) and the two connections are joined.
   */
  onRequestUpgrade(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, socket: Duplex): void {
    const exchange = this.#exchange;
    exchange.status = exchange.upstreamStatus = statusCode;
    exchange.upstreamHeaderMs = performance.now() - this.#attemptStartedAt;
    this.#attempts.answered(exchange.upstreamHeaderMs, statusCode);
    const client = this.#acceptUpgrade(headers);
    if (client === undefined) {
      socket.destroy();
      this.#attempts.ended();
      return;
    }
    this.#responded = true;
    const runtime = this.#runtime;
    const tunnel = new Tunnel(client, socket, exchange.pool.config.tunnel_idle_timeout, (totals) => {
      runtime.tunnels.delete(tunnel);
      this.#finishAttempt();
      this.#attempts.ended();
      exchange.bytesIn += totals.bytesIn;
      exchange.bytesOut += totals.bytesOut;
      exchange.tunnelEnd = totals.end;
      this.#settled();
    });
    this.#tunnel = tunnel;
    runtime.tunnels.add(tunnel, exchange.peer!);
  }

  /**
   * Answers the client's upgrade and returns its side of the tunnel; undefined (having settled the
   * request) when the client is gone or the peer's handshake answer does not hold.
   */
  #acceptUpgrade(headers: Record<string, string | string[] | undefined>): TunnelClient | undefined {
    const exchange = this.#exchange;
    const key = this.#request.webSocketKey;
    if (key !== undefined) {
      const stream = (this.#incoming as unknown as Http2ServerRequest).stream;
      if (stream.destroyed || this.#abortedBy !== undefined) return this.#gone();
      if (headers['sec-websocket-accept'] !== webSocketAccept(key)) {
        this.#settled(new ProxyError('bad_gateway', 'the peer answered the WebSocket handshake with a wrong Sec-WebSocket-Accept'));
        return undefined;
      }
      exchange.status = 200;
      stream.respond(http2Head(headers));
      return stream;
    }
    const outgoing = this.#outgoing;
    const socket = outgoing.socket as Socket | null;
    if (socket === null || socket.destroyed || this.#abortedBy !== undefined) return this.#gone();
    outgoing.detachSocket(socket);
    socket.write(switchingHead(headers), 'latin1');
    return socket;
  }

  #gone(): undefined {
    this.#exchange.status = 499;
    this.#settled();
    return undefined;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#retryingStatus) return;
    if (this.#head !== undefined) this.#writeHead(false);
    this.#exchange.bytesOut += chunk.length;
    if (this.#outgoing.write(chunk)) return;
    controller.pause();
    this.#outgoing.once('drain', (this.#resume ??= () => this.#controller?.resume()));
  }

  onResponseEnd(): void {
    if (this.#retryingStatus) return this.#retryAfterDroppedAnswer();
    if (this.#head !== undefined) this.#writeHead(false);
    this.#finishAttempt();
    this.#attempts.ended();
    this.#outgoing.end();
    this.#settled();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    // A head not written yet is dropped: the client is answered as if it never came.
    this.#head = undefined;
    this.#finishAttempt();
    if (this.#retryingStatus) return this.#retryAfterDroppedAnswer();
    const outgoing = this.#outgoing;
    if (this.#responded || this.#abortedBy !== undefined || outgoing.destroyed || this.#incoming.socket.destroyed) {
      // Part of the response (or the client itself) is gone: all that is left is to cut the
      // connection, as the failing peer did, so the client cannot mistake it for a whole answer.
      this.#attempts.ended();
      outgoing.destroy();
      const exchange = this.#exchange;
      if (!this.#responded) exchange.status = 499;
      exchange.error = describeError(this.#abortedBy ?? error);
      this.#settled();
      return;
    }
    // The client's body broke a limit (too large, stalled): the client's doing, not the peer's.
    if (error instanceof ProxyError) {
      this.#attempts.ended();
      this.#settled(error);
      return;
    }
    if (this.#attempts.failed(classifyUpstreamError(error, this.#body?.started ?? false))) this.start();
    else this.#settled(this.#attempts.error());
  }

  /** The dropped answer is over (read or broken): the next peer is asked, unless the client left. */
  #retryAfterDroppedAnswer(): void {
    this.#retryingStatus = false;
    if (this.#abortedBy === undefined) return this.start();
    this.#exchange.status = 499;
    this.#settled();
  }

  #finishAttempt(): void {
    const exchange = this.#exchange;
    exchange.upstreamTotalMs = performance.now() - this.#attemptStartedAt;
    exchange.bytesIn += this.#body?.received ?? 0;
  }
}

