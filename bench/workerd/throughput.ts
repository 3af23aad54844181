/**
 * The Workers entry (src/edge/workers/entry.ts) on plain `workerd serve` next to the Node edge,
 * in front of the same upstreams. wrangler builds the bundle `wrangler deploy` would upload;
 * workerd serves it from a config written here. Three rows: the Node edge (embedded, TCP
 * checks), the Workers entry with a static peer set, and the Workers entry reading the set a real
 * prober writes to redis-server.
 * Everything is pinned like `npm run bench` (proxy on CPU 1, wrk on CPU 0).
 * Rounds alternate the systems so that a busy moment on the machine does not land on one only.
 * Usage: node bench/workerd/throughput.ts [--seconds 5] [--rounds 2]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { waitForOk } from '../rig/http.ts';
import { loadAverage } from '../rig/machine.ts';
import { startNginx, upstreamsConfig } from '../rig/nginx.ts';
import { freePorts } from '../rig/ports.ts';
import { startProcess, stopAllProcesses, type Proc } from '../rig/processes.ts';
import { waitUntil } from '../rig/wait.ts';
import { runWrk, WRK_CONNECTIONS } from '../rig/wrk.ts';
import { dir, startEdgelb, startRedisServer, writeConfig } from '../shared-health/rig.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '2' } } });
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const root = fileURLToPath(new URL('../../', import.meta.url));
const PROXY_CPU = '1';
const WRK_CPU = '0';
const WARMUP_SECONDS = 2;

/** The bundle `wrangler deploy` would upload, without uploading it: `entry.js`, named after wrangler.toml's `main`. */
function buildWorkersBundle(): string {
  const out = join(dir, 'workers-bundle');
  execFileSync(join(root, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', out], {
    cwd: root,
    stdio: 'ignore',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_HIDE_BANNER: 'true', CI: 'true' },
  });
  return out;
}

/** A workerd config serving the bundle on `port`, allowed to reach loopback peers and Redis. */
function workerdConfig(buildDir: string, port: number, edgelbConfig: Record<string, unknown>, ttl = '1s'): string {
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(join(root, 'wrangler.toml'), 'utf8'))![1]!;
  const file = join(buildDir, `workerd-${port}.capnp`);
  writeFileSync(file, `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "edgelb", worker = .edgelb),
    (name = "loopback", network = (allow = ["local", "private", "public"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "edgelb")],
);
const edgelb :Workerd.Worker = (
  modules = [(name = "entry.js", esModule = embed "entry.js")],
  compatibilityDate = "${compatibilityDate}",
  bindings = [
    (name = "EDGELB_CONFIG", text = ${JSON.stringify(JSON.stringify(edgelbConfig))}),
    (name = "EDGELB_HEALTH_TTL", text = "${ttl}"),
    (name = "LOG_LEVEL", text = "warn"),
  ],
  globalOutbound = "loopback",
);
`);
  return file;
}

function startWorkerd(name: string, configFile: string): Proc {
  return startProcess(name, join(root, 'node_modules/.bin/workerd'), ['serve', configFile], { cpus: PROXY_CPU });
}

async function measure(label: string, url: string): Promise<{ label: string; rps: number; p99Ms: number; errors: number }> {
  await waitForOk(url, 15_000);
  await runWrk(url, WARMUP_SECONDS, WRK_CPU);
  const result = await runWrk(url, seconds, WRK_CPU);
  const errors = result.non2xx + Object.values(result.socketErrors).reduce((a, b) => a + b, 0);
  return { label, rps: Math.round(result.requestsPerSecond), p99Ms: result.p99Ms, errors };
}

try {
  const [statusPort, port, ...upstreamPorts] = await freePorts(5);
  const nginxDir = join(dir, 'upstreams');
  mkdirSync(nginxDir, { recursive: true });
  await startNginx('upstreams', nginxDir, upstreamsConfig(nginxDir, upstreamPorts, statusPort!));
  const peers = upstreamPorts.map((port) => `127.0.0.1:${port}`);
  const pool = { peers, health_check: { type: 'tcp', interval: '1s', timeout: '1s' } };
  const buildDir = buildWorkersBundle();
  const rows = [];

  // Redis and a prober run for every row, so the machine is as busy for each.
  const redis = await startRedisServer();
  const shared = { redis: redis.url, upstreams: { default: pool } };
  const prober = startEdgelb('prober', ['probe', '-c', writeConfig('prober', shared)], { logLevel: 'info' });
  await waitUntil('the prober', () => prober.logs.some((l) => l.msg === 'full state written to redis'));
  const nodeConfig = writeConfig('node', { listen: [`127.0.0.1:${port}`], upstreams: { default: pool } });
  const systems: Array<[string, () => Proc]> = [
    ['edgelb on Node (embedded, 1 process)', () => startEdgelb('edgelb', ['-c', nodeConfig], { cpus: PROXY_CPU, logLevel: 'warn' }).proc],
    ['Workers entry on workerd, static peer set', () => startWorkerd('workerd-static', workerdConfig(buildDir, port!, { upstreams: { default: pool } }))],
    ['Workers entry on workerd, set read from Redis (TTL 1 s)', () => startWorkerd('workerd-redis', workerdConfig(buildDir, port!, shared))],
  ];
  for (let round = 1; round <= rounds; round++) {
    for (const [label, start] of systems) {
      const proc = start();
      rows.push({ round, load: loadAverage(), ...await measure(label, `http://127.0.0.1:${port}/`) });
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
  }

  console.log(`wrk -t1 -c${WRK_CONNECTIONS} -d${seconds}s (after ${WARMUP_SECONDS}s warm-up), proxy on CPU ${PROXY_CPU}, wrk on CPU ${WRK_CPU}`);
  console.log('| round | system | req/s | p99 | errors | load average |\n|---|---|---|---|---|---|');
  for (const row of rows) console.log(`| ${row.round} | ${row.label} | ${row.rps.toLocaleString('en')} | ${row.p99Ms.toFixed(2)} ms | ${row.errors} | ${row.load} |`);
} finally {
  await stopAllProcesses();
}
