import type { Context, Env } from 'hono';
import { ProxyError } from '../../core/errors.ts';
import type { Log } from '../../core/log.ts';
import { upstreamPath, type RoutedRequest } from '../../core/routing/route-table.ts';
import type { RoutedExchange } from '../exchange.ts';
import { replyResponse } from '../error-response.ts';
import type { Forwarder, RequestOutcome } from '../forwarder.ts';
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../headers.ts';
import { isIdempotent } from '../idempotent.ts';

/**
 * The forwarder for edge runtimes: `fetch()` to each peer. The header rules, retries and error
 * kinds are the undici forwarder's; what the runtime decides on its own differs (see README,
 * "On Cloudflare Workers"): it sets the `Host` of the upstream request from the peer's URL, and
 * a request body is a stream that one attempt consumes, so requests with a body are not retried.
 */
export class FetchForwarder implements Forwarder {
  readonly #log: Log;

  constructor(log: Log) {
    this.#log = log;
  }

  describe(context: Context<Env>): RoutedRequest {
    const request = context.req.raw;
    const url = new URL(request.url);
    return { method: request.method, authority: url.host, path: url.pathname + url.search, header: (name) => request.headers.get(name) ?? undefined };
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
    const request = context.req.raw;
    const url = new URL(request.url);
    const { pool, route } = exchange;
    const raw: string[] = [];
    for (const [name, value] of request.headers) raw.push(name, value);
    const flat = upstreamRequestHeaders(raw, {
      // Cloudflare sets (and overwrites) this one; plain workerd knows no client address.
      clientIp: request.headers.get('cf-connecting-ip') ?? 'unknown',
      proto: url.protocol === 'https:' ? 'https' : 'http',
      rewriteHost: route.upstreamHost ?? pool.config.host,
      targetAuthority: undefined,
    });
    const headers = new Headers();
    // fetch() takes Host from the URL whatever is set here; X-Forwarded-Host carries the client's.
    for (let i = 0; i < flat.length; i += 2) if (flat[i] !== 'host') headers.append(flat[i]!, flat[i + 1]!);
    const method = request.method;
    const body = request.body;
    const path = upstreamPath(route, exchange.request.path);
    const scheme = pool.config.tls ? 'https' : 'http';

    let attemptsLeft = pool.retries + 1;
    let lastError: unknown;
    for (const peer of exchange.candidates) {
      if (attemptsLeft-- === 0) break;
      const attempt = await this.#attempt(`${scheme}://${peer.id}${path}`, { method, headers, body, redirect: 'manual' }, pool.config.read_timeout);
      if (attempt instanceof Response) {
        if (this.#log.isLevelEnabled('debug')) this.#log.debug({ requestId: exchange.id, peer: peer.id, status: attempt.status }, 'proxied');
        return new Response(attempt.body, { status: attempt.status, statusText: attempt.statusText, headers: responseHeaders(attempt.headers) });
      }
      lastError = attempt;
      if (attempt instanceof ProxyError || !mayRetryFetch(attempt, method, body !== null)) break;
      this.#log.warn({ requestId: exchange.id, pool: pool.name, peer: peer.id, error: String(attempt) }, 'peer unreachable; trying the next one');
    }
    if (lastError instanceof ProxyError) throw lastError;
    throw new ProxyError('bad_gateway', 'the upstream server could not be reached or failed', { cause: lastError });
  }

  /** The peer's response, or what went wrong: a `ProxyError` for a timeout, else the runtime's error. */
  async #attempt(url: string, init: RequestInit, readTimeoutMs: number): Promise<Response | unknown> {
    const aborter = new AbortController();
    const timer = setTimeout(() => aborter.abort(), readTimeoutMs);
    try {
      return await fetch(url, { ...init, signal: aborter.signal });
    } catch (error) {
      if (aborter.signal.aborted) return new ProxyError('upstream_timeout', 'the upstream server did not answer in time', { cause: error });
      return error;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * The Node rule as far as `fetch()` lets us see: a body stream is consumed by the attempt, so
 * only requests without a body go to the next peer. workerd reports a refused connection and one
 * lost after the request was sent alike ("Network connection lost."), so that one is retried
 * for idempotent methods only; an error that names the connect step is retried for any method.
 */
function mayRetryFetch(error: unknown, method: string, hasBody: boolean): boolean {
  if (hasBody) return false;
  const message = error instanceof Error ? error.message : String(error);
  if (/\b(connect|refused|unreachable|dns)\b/i.test(message)) return true;
  return isIdempotent(method) && /network connection lost/i.test(message);
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
