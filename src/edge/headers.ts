/**
 * Header rules of a proxy, on flat raw header lists (`[name, value, name, value, ...]`), the form
 * both Node and undici use without building Headers objects. Runtime-neutral.
 */
import { ProxyError } from '../core/errors.ts';

/** Hop-by-hop headers (RFC 9110 §7.6.1 and the ones older peers still send); never forwarded. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

const VIA = '1.1 edgelb';
/** `Via` names the protocol the request came in on (RFC 9110 §7.6.3). */
const VIA_H2 = '2 edgelb';

export interface ForwardingFacts {
  /** The address of the client that connected to edgelb. */
  readonly clientIp: string;
  readonly proto: 'http' | 'https';
  /** Host sent upstream when set (the pool's `host`); otherwise the client's Host is kept. */
  readonly rewriteHost: string | undefined;
  /** The authority of an absolute-form request target, which RFC 9112 §3.2.2 puts before Host. */
  readonly targetAuthority: string | undefined;
}

/**
 * The headers for the upstream request: hop-by-hop ones (and those the client's `Connection`
 * names) removed, `Host` rewritten when the pool says so, `X-Forwarded-For` appended to,
 * `X-Forwarded-Proto`/`-Host` set, `Via` appended to. `Expect` is dropped because the client's
 * `100-continue` was already answered by the listener, and `Proxy` because no CGI-style upstream
 * should ever read it as its proxy setting (httpoxy). Throws a `bad_request` `ProxyError` for a
 * request with two Host headers (RFC 9112 §3.2), since the two sides could disagree on which counts.
 */
export function upstreamRequestHeaders(raw: readonly string[], facts: ForwardingFacts): string[] {
  const connectionListed = namedByConnection(raw);
  const out: string[] = [];
  let host: string | undefined;
  let authority: string | undefined;
  let h2 = false;
  let cookie: string | undefined;
  let forwardedFor: string | undefined;
  let via: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    // HTTP/2 pseudo-headers (`:authority`, `:path`, ...) carry no header of their own upstream;
    // `:authority` is the request's Host (RFC 9113 §8.3.1).
    if (name.charCodeAt(0) === 58) {
      h2 = true;
      if (name === ':authority') authority = value;
      continue;
    }
    const lower = name.toLowerCase();
    switch (lower) {
      case 'host':
        if (host !== undefined) throw new ProxyError('bad_request', 'the request has more than one Host header');
        host = value;
        continue;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        continue;
      case 'via':
        via = via === undefined ? value : `${via}, ${value}`;
        continue;
      case 'cookie':
        // HTTP/2 splits cookies into one field each; HTTP/1.1 wants a single line (RFC 9113 §8.2.3).
        if (!h2) break;
        cookie = cookie === undefined ? value : `${cookie}; ${value}`;
        continue;
      case 'x-forwarded-proto':
      case 'x-forwarded-host':
      case 'expect':
      case 'proxy':
        continue;
    }
    if (HOP_BY_HOP.has(lower) || connectionListed?.has(lower)) continue;
    out.push(name, value);
  }
  if (cookie !== undefined) out.push('cookie', cookie);
  if (authority !== undefined) {
    // An HTTP/2 request may carry a Host as well, but it must name the same authority.
    if (host !== undefined && host.toLowerCase() !== authority.toLowerCase()) {
      throw new ProxyError('bad_request', 'the request\'s Host differs from its :authority');
    }
    host = authority;
  }
  host = facts.targetAuthority ?? host;
  // Without any Host (an HTTP/2 request may carry neither) undici names the peer itself.
  const upstreamHost = facts.rewriteHost ?? host;
  if (upstreamHost !== undefined) out.push('host', upstreamHost);
  out.push(
    'x-forwarded-for', forwardedFor === undefined ? facts.clientIp : `${forwardedFor}, ${facts.clientIp}`,
    'x-forwarded-proto', facts.proto,
    'via', via === undefined ? (h2 ? VIA_H2 : VIA) : `${via}, ${h2 ? VIA_H2 : VIA}`,
  );
  if (host !== undefined) out.push('x-forwarded-host', host);
  return out;
}

/**
 * The upstream response's headers for the client, from undici's parsed form (lower-case names,
 * repeated headers as arrays): hop-by-hop ones removed, `Via` appended to. Flat for `writeHead`.
 */
export function downstreamResponseHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): string[] {
  const connection = headers.connection;
  const connectionListed = connection === undefined ? undefined : connectionTokens(String(connection), undefined);
  const out: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || name === 'via' || HOP_BY_HOP.has(name) || connectionListed?.has(name)) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const item of value) out.push(name, item);
  }
  const via = headers.via;
  out.push('via', via === undefined ? VIA : `${String(via)}, ${VIA}`);
  return out;
}

/** Extra hop-by-hop names listed in `Connection` headers (beyond the usual close/keep-alive). */
function namedByConnection(raw: readonly string[]): Set<string> | undefined {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') named = connectionTokens(raw[i + 1]!, named);
  }
  return named;
}

function connectionTokens(value: string, named: Set<string> | undefined): Set<string> | undefined {
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name && name !== 'close' && name !== 'keep-alive') (named ??= new Set()).add(name);
  }
  return named;
}

/** `::ffff:127.0.0.1` (an IPv4 client on a dual-stack socket) is logged and forwarded as `127.0.0.1`. */
export function clientAddress(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return 'unknown';
  return remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
}

/**
 * Sends the request's id upstream as `X-Request-Id`, so the peer's logs carry the id of edgelb's
 * own line (and of its error responses): the client's when it sent a usable one (it is already in
 * `headers`), else edgelb's, replacing an unusable one the client sent.
 */
export function withRequestId(headers: string[], clientValue: string | undefined, id: string): void {
  if (id === clientValue) return;
  if (clientValue !== undefined) {
    for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i]!.toLowerCase() === 'x-request-id') headers.splice(i, 2);
  }
  headers.push('x-request-id', id);
}
