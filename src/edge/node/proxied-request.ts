import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { describeError, noHealthyPeer, upstreamBusy, type ProxyError } from '../../core/errors.ts';
import type { Log } from '../../core/log.ts';
import type { Peer } from '../../core/peer.ts';
import type { ClientRequest } from './client-connection.ts';
import type { PeerStats } from '../peer-stats.ts';
import type { RoutedExchange } from '../exchange.ts';
import { downstreamResponseHeaders } from '../headers.ts';
import { RequestBody } from './request-body.ts';
import { mayRetry, upstreamProxyError } from './upstream-failure.ts';

/** What a proxied request needs from the forwarder that runs it. */
export interface ProxyRuntime {
  dispatcherFor(peer: Peer): Dispatcher;
  /** Whether the peer can take one more request (its connections and wait queue are not full). */
  hasRoom(peer: Peer): boolean;
  readonly stats: PeerStats;
  readonly log: Log;
  readonly logPeers: boolean;
  readonly draining: boolean;
}

export interface UpstreamRequest {
  readonly path: string;
  readonly method: string;
  readonly headers: string[];
  readonly hasBody: boolean;
}

/**
 * One client request on its way upstream, and the undici dispatch handler of each attempt
 * (attempts run one after another, so one object serves them all). The response is written
 * straight to the Node response with backpressure: no promise, stream wrapper or listener set
 * per chunk or per attempt. `settled` is called once, with nothing when a response (or a cut
 * connection) reached the client, or with the error the client must be told about.
 */
export class ProxiedRequest implements Dispatcher.DispatchHandler, ClientRequest {
  readonly #runtime: ProxyRuntime;
  readonly #exchange: RoutedExchange;
  readonly #incoming: IncomingMessage;
  readonly #outgoing: ServerResponse;
  readonly #request: UpstreamRequest;
  readonly #settled: (error?: ProxyError) => void;
  readonly #candidates: Iterator<Peer>;
  #attempts = 0;
  #peer: Peer | undefined;
  #body: RequestBody | null = null;
  #controller: Dispatcher.DispatchController | undefined;
  #responded = false;
  #abortedBy: Error | undefined;
  #resume: (() => void) | undefined;
  #attemptStartedAt = 0;
  /** Whether a candidate was passed over because it was full. */
  #full = false;

  constructor(
    runtime: ProxyRuntime,
    exchange: RoutedExchange,
    bindings: { incoming: IncomingMessage; outgoing: ServerResponse },
    request: UpstreamRequest,
    settled: (error?: ProxyError) => void,
  ) {
    this.#runtime = runtime;
    this.#exchange = exchange;
    this.#incoming = bindings.incoming;
    this.#outgoing = bindings.outgoing;
    this.#request = request;
    this.#settled = settled;
    this.#candidates = exchange.candidates[Symbol.iterator]();
  }

  /** Sends the request to the next candidate peer, or settles when none may be tried. */
  start(failure?: unknown): void {
    const peer = this.#attempts > this.#exchange.pool.retries ? undefined : this.#nextWithRoom();
    if (peer === undefined) {
      const pool = this.#exchange.pool.name;
      this.#settled(failure !== undefined ? upstreamProxyError(failure) : this.#full ? upstreamBusy(pool) : noHealthyPeer(pool));
      return;
    }
    if (failure !== undefined) {
      this.#runtime.log.warn(
        { requestId: this.#exchange.id, pool: this.#exchange.pool.name, failedPeer: this.#peer?.id, nextPeer: peer.id, error: describeError(failure) },
        'peer failed; retrying the request on the next peer',
      );
    }
    this.#attempts++;
    this.#peer = peer;
    this.#controller = undefined;
    const exchange = this.#exchange;
    exchange.peer = peer;
    exchange.attempts = this.#attempts;
    exchange.upstreamConnectMs = exchange.upstreamHeaderMs = -1;
    // The first attempt starts as the request arrives; only retries need a clock reading.
    this.#attemptStartedAt = this.#attempts === 1 ? exchange.startedAt : performance.now();
    if (this.#runtime.logPeers) {
      const { pool, id } = this.#exchange;
      this.#runtime.log.debug({ requestId: id, pool: pool.name, peer: peer.id, attempt: this.#attempts }, 'upstream peer');
    }
    const { path, method, headers, hasBody } = this.#request;
    this.#body = hasBody ? new RequestBody(this.#incoming) : null;
    this.#runtime.stats.attemptStarted(peer);
    this.#runtime.dispatcherFor(peer).dispatch({ path, method, headers, body: this.#body }, this);
  }

  /** The next candidate that has room; full ones are passed over (they cost no attempt). */
  #nextWithRoom(): Peer | undefined {
    for (let next = this.#candidates.next(); !next.done; next = this.#candidates.next()) {
      if (this.#runtime.hasRoom(next.value)) return next.value;
      this.#full = true;
    }
    return undefined;
  }

  /** The client went away: stop the upstream request too. */
  abort(reason: Error): void {
    this.#abortedBy = reason;
    this.#controller?.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    this.#exchange.upstreamConnectMs = performance.now() - this.#attemptStartedAt;
    if (this.#abortedBy !== undefined) controller.abort(this.#abortedBy);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    // Interim 1xx answers (103 Early Hints, ...) are not passed on; the final one follows.
    if (statusCode < 200) return;
    const outgoing = this.#outgoing;
    if (this.#runtime.draining) outgoing.shouldKeepAlive = false;
    // If Node refuses the head (a header it will not send), undici aborts the attempt and the
    // client still gets a clean 502, since nothing has been sent yet.
    outgoing.writeHead(statusCode, downstreamResponseHeaders(headers));
    this.#responded = true;
    this.#exchange.status = statusCode;
    this.#exchange.upstreamHeaderMs = performance.now() - this.#attemptStartedAt;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#exchange.bytesOut += chunk.length;
    if (this.#outgoing.write(chunk)) return;
    controller.pause();
    this.#outgoing.once('drain', (this.#resume ??= () => this.#controller?.resume()));
  }

  onResponseEnd(): void {
    this.#finishAttempt();
    this.#outgoing.end();
    this.#settled();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#finishAttempt();
    const outgoing = this.#outgoing;
    if (this.#responded || this.#abortedBy !== undefined || outgoing.destroyed || this.#incoming.socket.destroyed) {
      // Part of the response (or the client itself) is gone: all that is left is to cut the
      // connection, as the failing peer did, so the client cannot mistake it for a whole answer.
      outgoing.destroy();
      const exchange = this.#exchange;
      if (!this.#responded) exchange.status = 499;
      exchange.error = describeError(this.#abortedBy ?? error);
      this.#settled();
      return;
    }
    if (!mayRetry(error, this.#request.method, this.#body?.started ?? false)) {
      this.#settled(upstreamProxyError(error));
      return;
    }
    this.start(error);
  }

  #finishAttempt(): void {
    this.#runtime.stats.attemptEnded(this.#peer!);
    const exchange = this.#exchange;
    exchange.upstreamTotalMs = performance.now() - this.#attemptStartedAt;
    exchange.bytesIn += this.#body?.received ?? 0;
  }
}
