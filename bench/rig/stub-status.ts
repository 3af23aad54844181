import { httpGet } from './http.ts';

export interface StubStatus {
  accepts: number;
  handled: number;
  requests: number;
}

export function parseStubStatus(text: string): StubStatus {
  const match = /server accepts handled requests\s+(\d+)\s+(\d+)\s+(\d+)/.exec(text);
  if (!match) throw new Error(`unexpected stub_status output: ${JSON.stringify(text)}`);
  return { accepts: Number(match[1]), handled: Number(match[2]), requests: Number(match[3]) };
}

export async function readStubStatus(url: string): Promise<StubStatus> {
  const res = await httpGet(url);
  if (res.status !== 200) throw new Error(`stub_status answered ${res.status}`);
  return parseStubStatus(res.body);
}

/**
 * Counter growth between two reads, minus the second read itself: nginx counts a
 * connection at accept and a request when it is parsed, so each read's own
 * connection and request are already in the numbers it returns.
 */
export function stubDelta(before: StubStatus, after: StubStatus): { accepts: number; requests: number } {
  return { accepts: after.accepts - before.accepts - 1, requests: after.requests - before.requests - 1 };
}
