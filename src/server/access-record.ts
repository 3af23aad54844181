import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Exchange } from '../edge/exchange.ts';
import { clientAddress } from '../edge/headers.ts';

/**
 * The access log's lines, written by hand for this one record shape: a generic serializer
 * (pino's, `JSON.stringify` of an object) builds and walks an object per request, which was most
 * of what a line cost. Strings are escaped by `JSON.stringify`, numbers written as they are, and a
 * field of a point never reached (a timing of -1, no peer) is left out.
 */
export type TimeFormat = 'epoch_ms' | 'iso8601';

const q = JSON.stringify;

/** One JSON line, without its newline. */
export function jsonLine(exchange: Exchange, incoming: IncomingMessage, time: TimeFormat, now: number): string {
  const headers = incoming.headers;
  const clientRequestId = headers['x-request-id'];
  const id = exchange.idFrom(typeof clientRequestId === 'string' ? clientRequestId : undefined);
  let line = `{"time":${time === 'epoch_ms' ? now : q(new Date(now).toISOString())},"requestId":${q(id)},"client":${q(clientAddress(incoming.socket.remoteAddress))}`;
  line += `,"method":${q(incoming.method ?? '')},"path":${q(incoming.url ?? '')},"protocol":"${protocolOf(incoming)}"`;
  const host = headers.host ?? (headers[':authority'] as string | undefined);
  if (host !== undefined) line += `,"host":${q(host)}`;
  const tls = tlsOf(incoming);
  if (tls !== undefined) line += `,"tls":{"version":${q(tls.version)}${tls.sni === undefined ? '' : `,"sni":${q(tls.sni)}`}}`;
  line += `,"status":${exchange.status}`;
  if (exchange.upstreamStatus > 0) line += `,"upstreamStatus":${exchange.upstreamStatus}`;
  line += `,"bytesIn":${exchange.bytesIn},"bytesOut":${exchange.bytesOut}`;
  if (exchange.route !== undefined) line += `,"route":${q(exchange.route.name)},"pool":${q(exchange.pool!.name)}`;
  if (exchange.peer !== undefined) line += `,"peer":${q(exchange.peer.id)}`;
  line += milliseconds('upstreamConnectMs', exchange.upstreamConnectMs) + milliseconds('upstreamHeaderMs', exchange.upstreamHeaderMs)
    + milliseconds('upstreamTotalMs', exchange.upstreamTotalMs) + milliseconds('durationMs', performance.now() - exchange.startedAt);
  line += `,"retries":${Math.max(0, exchange.attempts - 1)}`;
  if (exchange.failedPeers !== undefined) line += `,"failedPeers":${q(exchange.failedPeers.map((peer) => peer.id))}`;
  if (exchange.error !== undefined) line += `,"error":${q(exchange.error)}`;
  if (exchange.tunnelEnd !== undefined) line += `,"tunnelEnd":"${exchange.tunnelEnd}"`;
  const userAgent = headers['user-agent'];
  if (userAgent !== undefined) line += `,"userAgent":${q(userAgent)}`;
  const referer = headers.referer;
  if (referer !== undefined) line += `,"referer":${q(referer)}`;
  return `${line}}`;
}

/**
 * nginx's `combined` format, as log tools read it: `$remote_addr - $remote_user [$time_local]
 * "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`, with `"` and `\` and
 * control bytes in the quoted fields written as `\xHH`, as nginx does.
 */
export function combinedLine(exchange: Exchange, incoming: IncomingMessage, now: number): string {
  const headers = incoming.headers;
  const request = `${incoming.method ?? '-'} ${incoming.url ?? '-'} ${protocolOf(incoming)}`;
  return `${clientAddress(incoming.socket.remoteAddress)} - - [${localTime(now)}] "${escaped(request)}" ${exchange.status} ${exchange.bytesOut} "${escaped(headers.referer ?? '-')}" "${escaped(headers['user-agent'] ?? '-')}"`;
}

function protocolOf(incoming: IncomingMessage): string {
  return incoming.httpVersionMajor === 2 ? 'HTTP/2.0' : `HTTP/${incoming.httpVersion}`;
}

function tlsOf(incoming: IncomingMessage): { version: string; sni: string | undefined } | undefined {
  const socket = incoming.socket as Partial<TLSSocket> | null;
  if (socket?.encrypted !== true) return undefined;
  const sni = socket.servername;
  return { version: socket.getProtocol?.() ?? 'unknown', sni: typeof sni === 'string' ? sni : undefined };
}

/** Microsecond precision is plenty; -1 (not reached) leaves the field out. */
function milliseconds(name: string, value: number): string {
  return value < 0 ? '' : `,"${name}":${Math.round(value * 1000) / 1000}`;
}

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f"\\\x7f-\xff]/g;

function escaped(text: string): string {
  return text.replace(UNSAFE, (char) => `\\x${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
let cachedSecond = -1;
let cachedTime = '';

/** `01/Dec/2026:14:05:09 +0000`, in UTC; made once a second. */
function localTime(now: number): string {
  const second = Math.floor(now / 1000);
  if (second === cachedSecond) return cachedTime;
  const date = new Date(second * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  cachedSecond = second;
  cachedTime = `${two(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`;
  return cachedTime;
}
