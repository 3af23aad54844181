import type { IncomingMessage } from 'node:http';
import { ProxyError } from '../../core/errors.ts';
import type { RoutedRequest } from '../../core/routing/route-table.ts';
import { clientAddress } from '../headers.ts';

/**
 * A Node request as routing and the forwarder read it: its method, its target split into the
 * path (sent upstream as the client wrote it, not normalised) and, for an absolute-form target
 * (`GET http://host/path`), the authority, which comes before Host (RFC 9112 §3.2.2). The
 * authority routing needs is read only when asked for: a table without hosts never reads it.
 */
export class NodeRequest implements RoutedRequest {
  readonly incoming: IncomingMessage;
  readonly method: string;
  readonly path: string;
  readonly targetAuthority: string | undefined;

  /** Throws a `ProxyError` for a request that is not to be proxied: unusable, or over a limit. */
  constructor(incoming: IncomingMessage, limits: RequestLimits) {
    const method = incoming.method ?? 'GET';
    const url = incoming.url ?? '';
    if (url.length > limits.maxUriLength) throw new ProxyError('uri_too_long', `the request target is longer than ${limits.maxUriLength} bytes`);
    // Node keeps at most 2,000 fields (the largest limit allowed) and drops the rest unseen.
    if (incoming.rawHeaders.length > 2 * limits.maxHeaders && headerCount(incoming.rawHeaders) > limits.maxHeaders) {
      throw new ProxyError('headers_too_large', `the request has more than ${limits.maxHeaders} header fields`);
    }
    // Node's parser reads a request line without a version as HTTP/0.9 and still takes the header
    // lines after it: a proxy in front that sees one HTTP/0.9 request there would disagree on
    // where the next request starts.
    if (incoming.httpVersionMajor === 0) throw new ProxyError('bad_request', 'HTTP/0.9 requests are not served');
    if (unsafeTarget(url)) throw new ProxyError('bad_request', 'the request target has a fragment or a dot-segment ("/./", "/../")');
    const target = requestTarget(url);
    if (target === undefined || (method === 'CONNECT' && !isWebSocketConnect(incoming))) {
      throw new ProxyError('bad_request', `cannot proxy ${method} ${url}`);
    }
    this.incoming = incoming;
    this.method = method;
    this.path = target.path;
    this.targetAuthority = target.authority;
  }

  get authority(): string | undefined {
    const { headers } = this.incoming;
    // HTTP/2 requests carry `:authority`; one may carry a Host as well, which must agree (headers.ts).
    return this.targetAuthority ?? headers[':authority'] as string | undefined ?? headers.host;
  }

  get clientAddress(): string {
    return clientAddress(this.incoming.socket.remoteAddress);
  }

  header(name: string): string | undefined {
    const value = this.incoming.headers[name];
    return typeof value === 'string' ? value : value?.join(', ');
  }
}

/**
 * An HTTP/2 extended CONNECT for a WebSocket (RFC 8441): the HTTP/2 form of a WebSocket
 * handshake, which the forwarder sends upstream as an HTTP/1.1 upgrade. Any other CONNECT (a
 * tunnel to an address of the client's choosing) is never proxied.
 */
export function isWebSocketConnect(incoming: IncomingMessage): boolean {
  return incoming.method === 'CONNECT' && incoming.headers[':protocol'] === 'websocket';
}

/** What a request may carry before it is refused (`limits` of the config). */
export interface RequestLimits {
  readonly maxUriLength: number;
  readonly maxHeaders: number;
}

/** Header fields, not counting HTTP/2's pseudo-headers (`:path`, ...). */
function headerCount(raw: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.charCodeAt(0) !== 58) count++;
  return count;
}

const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;

/**
 * A target with a fragment (never sent by a conforming client) or with dot-segments: routing
 * matches the path as written, so `/public/../admin` would be routed as `/public` and then
 * resolved by the peer as `/admin`. Refused as nginx and HAProxy refuse them; encoded dots
 * (`%2e`) count, since peers decode them.
 */
function unsafeTarget(url: string): boolean {
  if (url.includes('#')) return true;
  if (!url.includes('/.') && !url.includes('%')) return false;
  // Only the path: a query may carry anything (`?next=/../home`).
  const query = url.indexOf('?');
  return DOT_SEGMENT.test(query < 0 ? url : url.slice(0, query));
}

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
