import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Backend, SeenRequest } from './backend.ts';
import { exchange, hold, outcomeOf, statusOf, type RawReply } from './raw-exchange.ts';

const HOST = 'Host: localhost\r\n';

export interface PipeliningResult {
  readonly sent: number;
  readonly answered: number;
  readonly inOrder: boolean;
  readonly statuses: Record<string, number>;
  readonly forwarded: number;
  readonly peakUpstreamConnections: number;
  readonly peakUpstreamInFlight: number;
  /** Requests that still reached the backend from 0.5 s to 4.5 s after the client had gone. */
  readonly forwardedAfterClose: number;
}

/**
 * One connection writes `count` pipelined `GET /slow?i=N` at once and reads for `capMs`. A proxy
 * that forwards them all at once shows as many upstream connections; one that serves them one at
 * a time answers about capMs / 2 s of them, in order.
 */
export async function pipelining(port: number, backend: Backend, { count = 2_000, capMs = 20_000 } = {}): Promise<PipeliningResult> {
  const before = backend.counts();
  backend.resetPeak();
  let text = '';
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.once('connect', () => {
    let requests = '';
    for (let i = 0; i < count; i++) requests += `GET /slow?i=${i} HTTP/1.1\r\n${HOST}\r\n`;
    socket.write(requests);
  });
  await Promise.race([closed, sleep(capMs)]);
  socket.destroy();
  const peakUpstreamConnections = backend.peakConnections;
  const peakUpstreamInFlight = backend.peakInFlight;
  // A request the proxy sent in the same instant the client left is a race, not a queue still
  // being served: only what arrives from half a second on counts (one /slow takes 2 s).
  await sleep(500);
  const during = backend.counts().requests - before.requests;
  await sleep(4_000);
  const statuses: Record<string, number> = {};
  for (const [, status] of text.matchAll(/HTTP\/1\.[01] (\d{3})/g)) statuses[status!] = (statuses[status!] ?? 0) + 1;
  const ids = [...text.matchAll(/slow#(\d+)/g)].map((match) => Number(match[1]));
  return {
    sent: count,
    answered: Object.values(statuses).reduce((sum, n) => sum + n, 0),
    inOrder: ids.every((id, index) => id === index),
    statuses,
    forwarded: during,
    peakUpstreamConnections,
    peakUpstreamInFlight,
    forwardedAfterClose: backend.counts().requests - before.requests - during,
  };
}

/** How a set of held connections ended. */
export interface HeldResult {
  readonly connections: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** Still open when the probe gave up at `capMs`. */
  readonly stillOpen: number;
  readonly capMs: number;
  /** What the server sent before closing, by outcome ("408", "closed without answer"). */
  readonly outcomes: Record<string, number>;
}

function summarize(replies: readonly RawReply[], capMs: number): HeldResult {
  const times = replies.map((r) => r.ms).sort((a, b) => a - b);
  const outcomes: Record<string, number> = {};
  for (const reply of replies) {
    const key = reply.closedByServer ? outcomeOf(reply) : statusOf(reply.reply) === undefined ? 'still open' : `${statusOf(reply.reply)}, still open`;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  }
  return {
    connections: replies.length,
    medianMs: times[Math.floor(times.length / 2)] ?? 0,
    minMs: times[0] ?? 0,
    maxMs: times.at(-1) ?? 0,
    stillOpen: replies.filter((r) => !r.closedByServer).length,
    capMs,
    outcomes,
  };
}

/** Slowloris: `connections` request heads that each gain one header line every 2 s. */
export async function slowloris(port: number, { connections = 50, capMs = 90_000 } = {}): Promise<HeldResult> {
  const replies = await Promise.all(Array.from({ length: connections }, () =>
    hold(port, { first: `GET / HTTP/1.1\r\n${HOST}`, drip: 'X-Slowloris: 1\r\n', dripMs: 2_000, capMs })));
  return summarize(replies, capMs);
}

/** TCP connections to a TLS port that never send a ClientHello. */
export async function tlsStall(tlsPort: number, { connections = 20, capMs = 90_000 } = {}): Promise<HeldResult> {
  const replies = await Promise.all(Array.from({ length: connections }, () => hold(tlsPort, { capMs })));
  return summarize(replies, capMs);
}

/** A request the proxy must answer on its own, and what reached the backend meanwhile. */
export interface ProbeResult {
  readonly outcome: string;
  /** Requests the backend parsed, with their targets; plus bytes it could not parse. */
  readonly forwarded: readonly string[];
  readonly malformedAtBackend: number;
}

/** `POST / (transfer-encoding: chunked)`: the target and the framing headers the backend got. */
export function describeSeen(seen: SeenRequest): string {
  const url = seen.url.length > 40 ? `${seen.url.slice(0, 20)}…(${seen.url.length} bytes)` : seen.url;
  const framing: string[] = [];
  for (let i = 0; i < seen.rawHeaders.length; i += 2) {
    const name = seen.rawHeaders[i]!.toLowerCase();
    if (name === 'content-length' || name === 'transfer-encoding') framing.push(`${name}: ${seen.rawHeaders[i + 1]}`);
  }
  return `${seen.method} ${url}${framing.length > 0 ? ` (${framing.join(', ')})` : ''}`;
}

export async function probe(port: number, backend: Backend, text: string): Promise<ProbeResult> {
  const before = backend.counts();
  // 12 s: past edgelb's and HAProxy's 10 s header timeouts, so a proxy waiting for more of the
  // head shows what it does at its deadline; nginx's 60 s is not waited for.
  const reply = await exchange(port, text, { capMs: 12_000 });
  // A proxy may still be forwarding the request after it answered (or while it never does).
  await sleep(300);
  return {
    outcome: outcomeOf(reply),
    forwarded: backend.requestsSince(before).map(describeSeen),
    malformedAtBackend: backend.counts().malformed - before.malformed,
  };
}

/** Ambiguous framing and malformed heads, each on a connection of its own. */
export const SMUGGLING: readonly (readonly [string, string])[] = [
  ['Content-Length and Transfer-Encoding: chunked', `POST / HTTP/1.1\r\n${HOST}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
  ['two different Content-Length', `POST / HTTP/1.1\r\n${HOST}Content-Length: 4\r\nContent-Length: 5\r\n\r\nabcde`],
  ['Transfer-Encoding: xchunked', `POST / HTTP/1.1\r\n${HOST}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`],
  ['Transfer-Encoding: chunked, identity', `POST / HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`],
  ['obs-fold (X-Folded: a CRLF SP b)', `GET / HTTP/1.1\r\n${HOST}X-Folded: a\r\n b\r\n\r\n`],
  ['obs-fold in Transfer-Encoding', `POST / HTTP/1.1\r\n${HOST}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n`],
  ['space before colon (Transfer-Encoding : chunked)', `POST / HTTP/1.1\r\n${HOST}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`],
  ['bare LF line endings', 'GET / HTTP/1.1\nHost: localhost\n\n'],
  ['invalid chunk size (4x)', `POST / HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n4x\r\nabcd\r\n0\r\n\r\n`],
];

/** Request targets and heads at and past the usual limits. */
export const TARGETS: readonly (readonly [string, string])[] = [
  ['GET /a/../b', `GET /a/../b HTTP/1.1\r\n${HOST}\r\n`],
  ['GET /a#frag', `GET /a#frag HTTP/1.1\r\n${HOST}\r\n`],
  ['HTTP/0.9 line (GET / CRLF)', 'GET /\r\n'],
  // The same line ended by an empty one, and followed by a Host: a parser that takes a line
  // without a version for HTTP/0.9 and one that reads on for headers disagree on where it ends.
  ['HTTP/0.9 line, then an empty line', 'GET /\r\n\r\n'],
  ['request line without version, then Host', `GET /\r\n${HOST}\r\n`],
  ['HTTP/1.0 without Host', 'GET / HTTP/1.0\r\n\r\n'],
  ['9,000-byte URI', `GET /${'a'.repeat(8_999)} HTTP/1.1\r\n${HOST}\r\n`],
  ['101 header fields (Host + 100)', `GET / HTTP/1.1\r\n${HOST}${Array.from({ length: 100 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`],
  ['one 20 KiB header', `GET / HTTP/1.1\r\n${HOST}X-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`],
];

/**
 * The backend answers with an 18-hex-digit chunk size, in the same write as its head or (`split`)
 * 200 ms after it: what does the client get?
 */
export async function upstreamOverflow(port: number, split: boolean): Promise<string> {
  // The backend holds its connection 2 s after the bad chunk; wait past that for the end.
  const reply = await exchange(port, `GET /overflow${split ? '?split' : ''} HTTP/1.1\r\n${HOST}\r\n`, { capMs: 8_000, quietMs: 3_000 });
  const status = statusOf(reply.reply);
  const end = reply.reply.indexOf('\r\n\r\n');
  const body = end < 0 ? '' : reply.reply.slice(end + 4);
  if (status === undefined) return reply.reply.length === 0 ? 'connection closed, no status' : `no status line (${reply.reply.length} bytes)`;
  const head = reply.reply.slice(0, Math.max(end, 0)).toLowerCase();
  const length = /\r\ncontent-length: *(\d+)/.exec(head)?.[1];
  // Whether the client could tell the answer was whole: its declared length, or the last chunk.
  const whole = length !== undefined ? Buffer.byteLength(body, 'latin1') >= Number(length)
    : /\r\ntransfer-encoding: *chunked/.test(head) ? body.endsWith('0\r\n\r\n') : false;
  return [
    String(status),
    body.length === 0 ? 'no body' : `body ${JSON.stringify(body.length > 40 ? `${body.slice(0, 40)}…` : body)}`,
    whole ? 'complete' : 'incomplete',
    reply.closedByServer ? 'then closed' : 'connection kept open',
  ].join(', ');
}

/** Whether the proxy still answers a plain request (after the probes). */
export async function stillServes(port: number): Promise<string> {
  return outcomeOf(await exchange(port, `GET / HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`));
}
