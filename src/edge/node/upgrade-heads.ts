import { createHash, randomBytes } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http2';
import { downstreamResponseHeaders } from '../headers.ts';

type PeerHeaders = Record<string, string | string[] | undefined>;

/** The `101` head for an HTTP/1.1 client: the peer's headers, hop-by-hop ones replaced by the upgrade's own. */
export function switchingHead(headers: PeerHeaders): string {
  const fields = downstreamResponseHeaders(headers);
  let head = 'HTTP/1.1 101 Switching Protocols\r\n';
  for (let i = 0; i < fields.length; i += 2) head += `${fields[i]}: ${fields[i + 1]}\r\n`;
  return `${head}connection: upgrade\r\nupgrade: ${String(headers.upgrade ?? '')}\r\n\r\n`;
}

/**
 * The `200` an HTTP/2 client gets for its extended CONNECT once the peer accepted the HTTP/1.1
 * upgrade (RFC 8441 §5): the peer's headers less the HTTP/1.1 handshake's own.
 */
export function http2Head(headers: PeerHeaders): OutgoingHttpHeaders {
  const fields = downstreamResponseHeaders(headers);
  const head: OutgoingHttpHeaders = { ':status': 200 };
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (name === 'sec-websocket-accept') continue;
    const before = head[name];
    head[name] = before === undefined ? fields[i + 1]! : [...(Array.isArray(before) ? before : [String(before)]), fields[i + 1]!];
  }
  return head;
}

/** A fresh `Sec-WebSocket-Key` for the HTTP/1.1 handshake an extended CONNECT becomes. */
export function webSocketKey(): string {
  return randomBytes(16).toString('base64');
}

/** The `Sec-WebSocket-Accept` a peer must answer `key` with (RFC 6455 §4.2.2). */
export function webSocketAccept(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}
