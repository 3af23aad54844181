import { startEdgelb, startEdgelbCommand, startUpstream, type Edgelb, type LogLine, type Upstream } from './processes.ts';
import { waitFor } from './wait-for.ts';

export type Prober = Awaited<ReturnType<typeof startEdgelbCommand>>;

/** Runs `edgelb probe --id ID -c FILE` until it logs "prober started". */
export function startProber(id: string, config: Record<string, unknown>, env: Record<string, string> = {}): Promise<Prober> {
  return startEdgelbCommand(['probe', '--id', id], config, 'prober started', env);
}

/** A fleet's config: one pool over `upstreams`, the shared store at `redisUrl`. */
export function fleetConfig(redisUrl: string, upstreams: readonly Upstream[], healthCheck: Record<string, unknown> = {}) {
  return {
    redis: redisUrl,
    upstreams: {
      web: { peers: upstreams.map((u) => u.address), health_check: { interval: '300ms', timeout: '200ms', ...healthCheck } },
    },
  };
}

export async function startUpstreams(...names: string[]): Promise<Upstream[]> {
  return Promise.all(names.map((name) => startUpstream(name)));
}

export function startEdges(count: number, config: Record<string, unknown>): Promise<Edgelb[]> {
  return Promise.all(Array.from({ length: count }, () => startEdgelb(config)));
}

/** Waits for a log line with `msg` (and the given fields) logged after `after` (ms since the epoch). */
export function waitForLog(process: { logs: LogLine[] }, msg: string, fields: Record<string, unknown> = {}, after = 0, timeoutMs = 10_000): Promise<LogLine> {
  return waitFor(`"${msg}" ${JSON.stringify(fields)}`, () =>
    process.logs.find((line) => line.msg === msg && line.time >= after && Object.entries(fields).every(([k, v]) => line[k] === v)), { timeoutMs });
}

/** Which upstreams answer `count` requests in a row. */
export async function answering(url: string, count = 6): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(url);
    await res.text();
    if (res.status !== 200) throw new Error(`status ${res.status}`);
    names.push(res.headers.get('x-upstream')!);
  }
  return names.sort();
}
