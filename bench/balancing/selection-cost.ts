/**
 * The cost of the selection alone, for bench/balancing.ts: the built edgelb's own selection
 * classes (from the package's `dist/`), over a pool of three peers as the balancer builds it
 * (`validateConfig` → `buildPools` → `createSelection` with a `PeerStats`), asked for the first
 * candidate the way a request asks for it (one `next()` on the candidates' iterator), with every
 * peer accepted (`acceptHealthy` over all three) and peer c holding 2 requests in flight.
 *
 *   node bench/balancing/selection-cost.ts DIST_DIR   → prints {"round_robin": ns per pick, ...}
 *
 * A selection this edgelb does not have, or an internal API that moved, is left out (its value
 * is the reason instead of a number), so the benchmark runs against any version.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const PICKS = 2_000_000;
const REPEATS = 5;
const SELECTIONS = ['round_robin', 'least_request', 'random', 'ewma'] as const;

interface Peerish { port: number }
interface SelectionLike { candidates(key: string | undefined, accept: (peer: Peerish) => boolean): Iterable<Peerish> }

const dist = process.argv[2];
if (dist === undefined) {
  process.stderr.write('usage: node bench/balancing/selection-cost.ts DIST_DIR\n');
  process.exit(2);
}
const load = (path: string) => import(pathToFileURL(join(dist, path)).href) as Promise<Record<string, unknown>>;

const result: Record<string, number | string> = {};
try {
  const { validateConfig } = await load('core/config.js') as { validateConfig: (input: unknown) => { config: { upstreams: Record<string, unknown> } } | { problems: string[] } };
  const { buildPools } = await load('core/peer.js') as { buildPools: (upstreams: Record<string, unknown>) => { peers: Peerish[] }[] };
  const { createSelection } = await load('core/selection/index.js') as { createSelection: (pool: unknown, stats: unknown) => SelectionLike };
  const { acceptHealthy } = await load('core/selection/accept-healthy.js') as { acceptHealthy: (peers: readonly Peerish[]) => (peer: Peerish) => boolean };
  const { PeerStats } = await load('edge/peer-stats.js') as { PeerStats: new () => { of(peer: Peerish): { started(): void } } };
  for (const selection of SELECTIONS) {
    const validated = validateConfig({ upstreams: { p: { peers: ['127.0.0.1:1001', '127.0.0.1:1002', '127.0.0.1:1003'], selection } } });
    if ('problems' in validated) {
      result[selection] = `not available: ${validated.problems.join('; ')}`;
      continue;
    }
    const pool = buildPools(validated.config.upstreams)[0]!;
    const stats = new PeerStats();
    stats.of(pool.peers[2]!).started();
    stats.of(pool.peers[2]!).started();
    const chosen = createSelection(pool, stats);
    const accept = acceptHealthy(pool.peers);
    let sink = 0;
    const pick = (n: number) => {
      for (let i = 0; i < n; i++) sink ^= (chosen.candidates(undefined, accept)[Symbol.iterator]().next().value as Peerish).port;
    };
    pick(PICKS / 4);
    const times: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      const start = process.hrtime.bigint();
      pick(PICKS);
      times.push(Number(process.hrtime.bigint() - start) / PICKS);
    }
    times.sort((a, b) => a - b);
    result[selection] = Math.round(times[Math.floor(REPEATS / 2)]! * 10) / 10;
    if (sink === -1) process.stderr.write('');
  }
} catch (err) {
  result.error = err instanceof Error ? err.message : String(err);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
