import type { Context, Env } from 'hono';
import type { Log } from '../../core/log.ts';
import { upstreamPath, type RoutedRequest } from '../../core/routing/route-table.ts';
import type { RoutedExchange } from '../exchange.ts';
import { replyResponse } from '../error-response.ts';
import type { Forwarder, RequestOutcome } from '../forwarder.ts';
import { downstreamResponseHeaders, upstreamRequestHeaders, withRequestId } from '../headers.ts';
import type { AttemptFailure } from '../attempt-failure.ts';
import { Attempts, type AttemptRuntime } from '../attempts.ts';
import { declaredBodyTooLarge } from '../body-limit.ts';
import { OutlierDetection } from '../outlier-detection.ts';
import { PeerStats } from '../peer-stats.ts';
import { stickyCookie } from '../sticky.ts';
import { RetryBudget } from '../retry-budget.ts';

/**
 * The forwarder for edge runtimes: `fetch()` to each peer. The header rules, the attempt driver
 * and the error kinds are the undici forwarder's; what the runtime decides on its own differs (see README,
 * "On Cloudflare Workers"): it sets the `Host` of the upstream request from the peer's URL, and
 * a request body is a stream that one attempt consumes, so requests with a body are not retried.
 */
export class FetchForwarder implements Forwarder, AttemptRuntime {
  readonly log: Log;
  readonly logPeers: boolean;
  /** Per isolate, like the round robin. */
  readonly stats = new PeerStats();
  readonly outliers: OutlierDetection;
  readonly retryBudget = new RetryBudget(this.stats);

  constructor(log: Log) {
    this.log = log;
    this.outliers = new OutlierDetection(log);
    this.logPeers = log.isLevelEnabled('debug');
  }

  /** The runtime pools and limits its `fetch()` connections itself. */
  hasRoom(): boolean {
    return true;
  }

  describe(context: Context<Env>): RoutedRequest {
    const request = context.req.raw;
    const url = new URL(request.url);
    return {
      method: request.method,
      authority: url.host,
      path: url.pathname + url.search,
      header: (name) => request.headers.get(name) ?? undefined,
      // Cloudflare sets (and overwrites) this one; plain workerd knows no client address.
      clientAddress: request.headers.get('cf-connecting-ip') ?? 'unknown',
    };
  }

  forward(context: Context<Env>, exchange: RoutedExchange, outcome: RequestOutcome): Promise<Response> {
    return this.#forward(context, exchange).then(
      (response) => {
        outcome.done(exchange);
        return response;
      },
      (error: unknown) => replyResponse(outcome.failed(exchange, error)),
    );
  }

  async #forward(context: Context<Env>, exchange: RoutedExchange): Promise<Response> {
    const tooLarge = declaredBodyTooLarge(exchange.route, exchange.request);
    if (tooLarge !== undefined) throw tooLarge;
    const request = context.req.raw;
    const url = new URL(request.url);
    const { pool, route } = exchange;
    const raw: string[] = [];
    for (const [name, value] of request.headers) raw.push(name, value);
    const flat = upstreamRequestHeaders(raw, {
      clientIp: exchange.request.clientAddress,
      proto: url.protocol === 'https:' ? 'https' : 'http',
      rewriteHost: route.upstreamHost ?? pool.config.host,
      targetAuthority: undefined,
    });
    const clientId = request.headers.get('x-request-id') ?? undefined;
    withRequestId(flat, clientId, exchange.idFrom(clientId));
    const headers = new Headers();
    // fetch() takes Host from the URL whatever is set here; X-Forwarded-Host carries the client's.
    for (let i = 0; i < flat.length; i += 2) if (flat[i] !== 'host') headers.append(flat[i]!, flat[i + 1]!);
    // A WebSocket upgrade is the one `Upgrade` the runtime proxies: its `fetch` returns the
    // peer's WebSocket, which is handed to the client as is.
    const websocket = request.headers.get('upgrade')?.toLowerCase() === 'websocket';
    if (websocket) headers.set('upgrade', 'websocket');
    const method = request.method;
    const body = request.body;
    const path = upstreamPath(route, exchange.request.path);
    const scheme = pool.config.tls ? 'https' : 'http';

    const attempts = new Attempts(exchange, this);
    for (let peer = attempts.next(); peer !== undefined; peer = attempts.next()) {
      const startedAt = performance.now();
      const attempt = await this.#attempt(`${scheme}://${peer.id}${path}`, { method, headers, body, redirect: 'manual' }, pool.config.read_timeout);
      if (attempt instanceof Response) {
        if (attempts.retriesStatus(attempt.status, performance.now() - startedAt, body !== null)) {
          await attempt.body?.cancel();
          continue;
        }
        exchange.status = exchange.upstreamStatus = attempt.status;
        exchange.upstreamHeaderMs = performance.now() - startedAt;
        attempts.answered(exchange.upstreamHeaderMs, attempt.status);
        attempts.ended();
        const peerSocket = (attempt as WorkersResponse).webSocket;
        if (websocket && peerSocket != null) return new Response(null, { status: 101, webSocket: peerSocket } as ResponseInit);
        const headers = responseHeaders(attempt.headers);
        const cookie = stickyCookie(pool, exchange.request, peer);
        if (cookie !== undefined) headers.append('set-cookie', cookie);
        return new Response(attempt.body, { status: attempt.status, statusText: attempt.statusText, headers });
      }
      if (!attempts.failed(classifyFetchError(attempt, body !== null))) break;
    }
    throw attempts.error();
  }

  /** The peer's response, or what the runtime threw (`TIMED_OUT` when `read_timeout` ended it). */
  async #attempt(url: string, init: RequestInit, readTimeoutMs: number): Promise<Response | unknown> {
    const aborter = new AbortController();
    const timer = setTimeout(() => aborter.abort(), readTimeoutMs);
    try {
      return await fetch(url, { ...init, signal: aborter.signal });
    } catch (error) {
      return aborter.signal.aborted ? TIMED_OUT : error;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** workerd's `Response` carries the peer's end of an accepted WebSocket upgrade. */
type WorkersResponse = Response & { readonly webSocket?: unknown };

const TIMED_OUT = Object.freeze(new Error('the upstream server did not answer within read_timeout'));

/**
 * The Workers error classifier, from what `fetch()` lets us see: a body stream is consumed by the
 * attempt, so a request with a body counts as sent. workerd reports a refused connection and one
 * lost after the request was sent alike ("Network connection lost."), so that one is a lost
 * connection (retried for idempotent methods only); an error that names the connect step is a
 * failed connect (retried for any method).
 */
function classifyFetchError(error: unknown, bodySent: boolean): AttemptFailure {
  if (error === TIMED_OUT) return { kind: 'timeout', bodySent, error };
  const message = error instanceof Error ? error.message : String(error);
  if (/\b(connect|refused|unreachable|dns)\b/i.test(message)) return { kind: 'connect_failed', bodySent, error };
  if (/network connection lost/i.test(message)) return { kind: 'connection_lost', bodySent, error };
  return { kind: 'failed', bodySent, error };
}

function responseHeaders(upstream: Headers): Headers {
  const record: Record<string, string | string[]> = {};
  for (const [name, value] of upstream) {
    if (name === 'set-cookie') continue;
    record[name] = value;
  }
  const cookies = upstream.getSetCookie();
  if (cookies.length > 0) record['set-cookie'] = cookies;
  const flat = downstreamResponseHeaders(record);
  const headers = new Headers();
  for (let i = 0; i < flat.length; i += 2) headers.append(flat[i]!, flat[i + 1]!);
  return headers;
}
