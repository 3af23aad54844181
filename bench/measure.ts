import { setTimeout as sleep } from 'node:timers/promises';
import { readStubStatus, stubDelta } from './rig/stub-status.ts';
import { runWrk, type WrkResult } from './rig/wrk.ts';

export interface RoundResult {
  wrk: WrkResult;
  /** New connections accepted by the upstreams during the round, background subtracted. */
  upstreamConnections: number;
  /** Requests the upstreams served during the round. */
  upstreamRequests: number;
}

/**
 * Connections the upstreams accept per second with no load at all. With everything
 * started, that is edgelb's TCP health checks (3 peers, every second); they would
 * otherwise be charged to whichever system happens to be measured.
 */
export async function measureBackgroundAccepts(statusUrl: string, seconds: number): Promise<number> {
  const before = await readStubStatus(statusUrl);
  const started = performance.now();
  await sleep(seconds * 1000);
  const after = await readStubStatus(statusUrl);
  const elapsed = (performance.now() - started) / 1000;
  return Math.max(0, stubDelta(before, after).accepts) / elapsed;
}

export async function measureRound(
  url: string,
  seconds: number,
  wrkCpus: string,
  statusUrl: string,
  backgroundAcceptsPerSecond: number,
): Promise<RoundResult> {
  const before = await readStubStatus(statusUrl);
  const started = performance.now();
  const wrk = await runWrk(url, seconds, wrkCpus);
  const after = await readStubStatus(statusUrl);
  const elapsed = (performance.now() - started) / 1000;
  const delta = stubDelta(before, after);
  const background = Math.round(backgroundAcceptsPerSecond * elapsed);
  return {
    wrk,
    upstreamConnections: Math.max(0, delta.accepts - background),
    upstreamRequests: delta.requests,
  };
}
