/**
 * CPU time per request of what edgelb does once a request is over: the access log line (its own
 * serializer, to a file) and the metric updates (prom-client), in isolation from the proxying, so the
 * figure is steady on a busy machine where a whole-system A/B is not. Process CPU time is
 * counted, so the thread-pool writes of the log file are included.
 *
 *   node bench/observer-cost.ts [REQUESTS]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRoutes } from '../src/core/routing/build-routes.ts';
import { buildPools } from '../src/core/peer.ts';
import { validateConfig } from '../src/core/config.ts';
import { Exchange } from '../src/edge/exchange.ts';
import type { RequestObserver } from '../src/edge/request-observer.ts';
import { AccessLog } from '../src/server/access-log.ts';
import { Metrics } from '../src/server/metrics.ts';
import { MemoryHealthStore } from '../src/store/memory.ts';

const requests = Number(process.argv[2] ?? 300_000);
const parsed = validateConfig({ upstreams: { default: { peers: ['127.0.0.1:19081', '127.0.0.1:19082', '127.0.0.1:19083'] } } });
if (!('config' in parsed)) throw new Error(parsed.problems.join('\n'));
const pools = buildPools(parsed.config.upstreams);
const pool = pools[0]!;
const route = buildRoutes(parsed.config.routes, pools).routes[0]!;
const log = { debug() {}, info() {}, warn() {}, error() {}, isLevelEnabled: () => false };
const incoming = { method: 'GET', url: '/', headers: {}, socket: { remoteAddress: '127.0.0.1' } };
const context = { env: { incoming } } as never;

function exchange(i: number): Exchange {
  const done = new Exchange(route, pool.peers, context, undefined);
  done.peer = pool.peers[i % 3];
  done.attempts = 1;
  done.status = 200;
  done.bytesOut = 2;
  done.upstreamConnectMs = 0.01;
  done.upstreamHeaderMs = 0.3 + (i % 7) * 0.1;
  done.upstreamTotalMs = done.upstreamHeaderMs + 0.02;
  return done;
}

/** CPU µs per request spent in `observer`, beyond building the exchange itself. */
async function measure(observer: RequestObserver | undefined): Promise<number> {
  const started = process.cpuUsage();
  for (let i = 0; i < requests;) {
    // Batches with a turn of the event loop between them, as requests arrive on a server.
    for (const end = Math.min(i + 64, requests); i < end; i++) {
      const done = exchange(i);
      observer?.requestDone(done);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  const used = process.cpuUsage(started);
  return (used.user + used.system) / requests;
}

const dir = mkdtempSync(join(tmpdir(), 'edgelb-observer-cost-'));
try {
  const file = join(dir, 'access.log');
  const accessLog = new AccessLog(file, log);
  const metrics = new Metrics(pools, { store: new MemoryHealthStore(pools), inFlight: () => 0, tunnelsOpen: () => 0, isEjected: () => false, ejections: () => 0, openConnections: async () => 0 });
  await measure(accessLog); // warm-up: JIT, file pages
  const baseline = await measure(undefined);
  const logged = await measure(accessLog);
  const measured = await measure(metrics);
  await accessLog.close();
  console.log(`${requests} requests; CPU per request beyond building the exchange (${baseline.toFixed(2)} us):`);
  console.log(`  access log line (batched, to a file)          : ${(logged - baseline).toFixed(2)} us, ${(statSync(file).size / (2 * requests)).toFixed(0)} bytes`);
  console.log(`  metrics (prom-client counter + histogram):       ${(measured - baseline).toFixed(2)} us`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
