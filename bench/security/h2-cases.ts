import type { Backend } from './backend.ts';
import { describeH2, h2Streams, type H2Outcome } from './h2-probe.ts';

/** How many streams the excess probe opens: past the 128 nginx and edgelb allow, past HAProxy's 100. */
const EXCESS_STREAMS = 200;

export interface ExcessResult {
  readonly summary: string;
  readonly outcome: H2Outcome;
  /** `/slow` requests the backend received from this connection. */
  readonly forwarded: number;
}

/**
 * 200 streams of `GET /slow` on one connection, all at once. `afterSettings`: only once both
 * sides' SETTINGS are acknowledged, so the server's stream limit is in force (RFC 9113 §5.1.2:
 * exceeding it then is the client's protocol error).
 */
export async function excessStreams(tlsPort: number, backend: Backend, afterSettings: boolean): Promise<ExcessResult> {
  const before = backend.counts();
  // /slow takes 2 s; 10 s leaves room for a proxy that queues the excess instead of refusing it.
  const outcome = await h2Streams({ port: tlsPort, streams: EXCESS_STREAMS, path: (i) => `/slow?i=${i}`, afterSettings, capMs: 10_000 });
  const forwarded = backend.requestsSince(before).filter((seen) => seen.url.startsWith('/slow')).length;
  return { summary: describeH2(outcome), outcome, forwarded };
}

/** Header fields RFC 9113 §8.2.1 makes a request malformed with (a leading space: §8.2.1 item 3). */
export const INVALID_H2_FIELDS: readonly (readonly [string, string, string])[] = [
  ['value with a NUL byte', 'x-probe', 'a\x00b'],
  ['value with a leading space', 'x-probe', ' a'],
  ['uppercase field name', 'X-Probe', 'a'],
  ['field name with a space', 'x probe', 'a'],
];

export interface InvalidFieldResult {
  readonly summary: string;
  /** Whether the request reached the backend. */
  readonly forwarded: boolean;
  /** The probe's field as the backend received it (`"name: value"`, escaped); absent if it was dropped. */
  readonly received?: string;
}

/** One stream carrying one invalid field, on a connection of its own. */
export async function invalidField(tlsPort: number, backend: Backend, index: number): Promise<InvalidFieldResult> {
  const [, name, value] = INVALID_H2_FIELDS[index]!;
  const path = `/h2-invalid-${index}`;
  const before = backend.counts();
  const outcome = await h2Streams({ port: tlsPort, streams: 1, path: () => path, extra: [[name, value]], capMs: 5_000 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const seen = backend.requestsSince(before).find((request) => request.url === path);
  const at = seen?.rawHeaders.findIndex((field, i) => i % 2 === 0 && field.toLowerCase() === name.toLowerCase()) ?? -1;
  const received = seen === undefined || at < 0 ? undefined : JSON.stringify(`${seen.rawHeaders[at]}: ${seen.rawHeaders[at + 1]}`);
  return { summary: describeH2(outcome), forwarded: seen !== undefined, ...(received === undefined ? {} : { received }) };
}
