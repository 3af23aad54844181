import { setTimeout as sleep } from 'node:timers/promises';
import { totalRssKiB } from './rig/memory.ts';
import { readStubStatus, stubDelta } from './rig/stub-status.ts';
import { runWrk, type WrkResult } from './rig/wrk.ts';

export interface RoundResult {
  wrk: WrkResult;
  /** New connections accepted by the upstreams during the round, background subtracted. */
  upstreamConnections: number;
  /** Requests the upstreams served during the round. */
  upstreamRequests: number;
  /** Highest summed RSS of the serving processes sampled during the round; undefined if none. */
  rssDuringKiB?: number;
}

/** The load of one round: where to send it and, for uploads, wrk's Lua script. */
export interface RoundLoad {
  url: string;
  seconds: number;
  wrkCpus: string;
  script?: string;
  /** The processes whose memory is sampled while the load runs. */
  servingPids: () => number[];
}

const RSS_SAMPLE_MS = 250;

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

export async function measureRound(load: RoundLoad, statusUrl: string, backgroundAcceptsPerSecond: number): Promise<RoundResult> {
  const before = await readStubStatus(statusUrl);
  const started = performance.now();
  let rssDuringKiB: number | undefined;
  const sampler = setInterval(() => {
    const rss = totalRssKiB(load.servingPids());
    if (rss !== undefined) rssDuringKiB = Math.max(rssDuringKiB ?? 0, rss);
  }, RSS_SAMPLE_MS);
  let wrk: WrkResult;
  try {
    wrk = await runWrk(load.url, load.seconds, load.wrkCpus, load.script);
  } finally {
    clearInterval(sampler);
  }
  const after = await readStubStatus(statusUrl);
  const elapsed = (performance.now() - started) / 1000;
  const delta = stubDelta(before, after);
  const background = Math.round(backgroundAcceptsPerSecond * elapsed);
  return {
    wrk,
    upstreamConnections: Math.max(0, delta.accepts - background),
    upstreamRequests: delta.requests,
    rssDuringKiB,
  };
}
