/**
 * Memory under slow readers and idle connections: edgelb's worker against an nginx worker in front
 * of the same backend (an nginx serving a static 1 MiB file), in one run of about five minutes.
 * Method and reading: docs/BENCHMARKS.md, "Slow readers and idle connections".
 *
 *   npx node bench/slow-readers.ts [--connections N] [--stall S] [--settle S] [--edgelb FILE] [--census]
 *
 * Scenarios, each on a freshly started proxy:
 *   A  N connections each send `GET /1m` and then read nothing for the stall;
 *   A0 the same requests read at full speed: the control, what the traffic itself costs;
 *   B  the same with 3 pipelined `GET /1m` per connection;
 *   C  N keep-alive connections each send one `GET /` (2 bytes), read it, then stay idle.
 * For A and B, `ss` shows at the end of the stall where each response's bytes sit: in the
 * backend's socket, the proxy's receive queue, the proxy process, the proxy's send queue, or
 * the client's receive queue. `--census` also loads bench/rig/memory-census.ts into edgelb's worker
 * and reads, at the end of each stall and after the settle, what its memory holds (before and
 * after a full garbage collection, which changes the RSS figures of that run).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildEdgelb } from './rig/edgelb-build.ts';
import { waitForOk } from './rig/http.ts';
import { describeMachine, loadAverage } from './rig/machine.ts';
import { readMemory } from './rig/memory.ts';
import { NGINX, proxyConfig, startNginx } from './rig/nginx.ts';
import { freePorts } from './rig/ports.ts';
import { startProcess, stopProcess, type Proc } from './rig/processes.ts';
import { tcpSockets, type TcpSocket } from './rig/socket-queues.ts';
import { sleep } from './rig/wait.ts';
import { median, sum } from './stats.ts';
import { boundedRun } from './rig/bounded-run.ts';
import { wholeNumber } from './rig/whole-number.ts';
import { servingChild } from './rig/serving-child.ts';

const USAGE = `usage: npx node bench/slow-readers.ts [--connections N] [--stall S] [--settle S] [--edgelb FILE] [--census]

  --connections N  client connections per scenario            (default 1000)
  --stall S        seconds the slow readers read nothing       (default 20)
  --settle S       seconds after the clients closed, then RSS  (default 10)
  --edgelb FILE    edgelb entry point to run (default: this checkout, compiled as its package runs it)
  --census         also read where edgelb's worker memory is, at each stall's end and after it
                   (bench/rig/memory-census.ts; its full collections change that run's RSS figures)`;

const repoRoot = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '1000' },
    stall: { type: 'string', default: '20' },
    settle: { type: 'string', default: '10' },
    edgelb: { type: 'string' },
    census: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const CONNECTIONS = wholeNumber('connections', values.connections, 1, USAGE);
const STALL_S = wholeNumber('stall', values.stall, 1, USAGE);
const SETTLE_S = wholeNumber('settle', values.settle, 0, USAGE);
const SAMPLE_MS = 250;
const CENSUS = values.census;
const PROXY_CPUS = '1';
const READY_TIMEOUT_MS = 10_000;
/** Connections opened at once; each batch waits for the one before to connect (listen backlogs are 511). */
const BATCH = 100;
const PIPELINED = 3;
const MIB = 1024 * 1024;

function log(message: string): void {
  process.stderr.write(`[slow-readers] ${message}\n`);
}

// ---- the backend -------------------------------------------------------------------------------

/**
 * The backend: one nginx serving `/1m` (a 1 MiB file) and `/` ("ok"). `keepalive_timeout 0` makes
 * it close each connection after its response, so each backend socket carries one request and
 * its kernel counters are that request's; its access log has each finished request's
 * `$bytes_sent` (written to its socket) and the proxy's port, which tells a request whose socket
 * is gone (everything delivered) from one whose socket still holds part of it.
 */
function backendConfig(dir: string, port: number): string {
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${dir}/${kind};`).join('\n');
  return `${user}worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 8192; }
http {
  log_format sent '$msec $status $bytes_sent $request_uri $remote_port';
  access_log ${dir}/access.log sent;
${temp}
  keepalive_timeout 0;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location = /1m { root ${dir}/static; default_type application/octet-stream; }
    location / { return 200 "ok"; }
  }
}
`;
}

interface BackendLine {
  atMs: number;
  status: number;
  bytesSent: number;
  uri: string;
  /** The proxy's end of the backend connection. */
  remotePort: number;
}

function backendLog(dir: string): BackendLine[] {
  let text = '';
  try {
    text = readFileSync(join(dir, 'access.log'), 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter(Boolean).map((line) => {
    const [msec, status, bytes, uri, port] = line.split(' ');
    return { atMs: Number(msec) * 1000, status: Number(status), bytesSent: Number(bytes), uri: uri ?? '', remotePort: Number(port) };
  });
}

// ---- the proxies -------------------------------------------------------------------------------

interface RunningProxy {
  proc: Proc;
  /** The process that serves the connections: edgelb's worker, nginx's worker. */
  worker: number;
  port: number;
  /** With `--census`, for edgelb: where its worker's memory is now. */
  census?: () => Promise<Census>;
}

/** What bench/rig/memory-census.ts writes. */
interface CensusFigures {
  rssKiB: number;
  mallocHeapKiB: number;
  heapUsed: number;
  arrayBuffers: number;
}
interface Census {
  clientsWithQueue: number;
  clientWriteQueued: number;
  upstreamReadBuffered: number;
  now: CensusFigures;
  afterGc: CensusFigures;
}

async function readCensus(dir: string, worker: number): Promise<Census> {
  const taken = new Set(readdirSync(dir));
  process.kill(worker, 'SIGUSR2');
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const file = readdirSync(dir).find((name) => name.startsWith(`census-${worker}-`) && name.endsWith('.json') && !taken.has(name));
    if (file !== undefined) return JSON.parse(readFileSync(join(dir, file), 'utf8')) as Census;
    if (Date.now() > deadline) throw new Error(`no memory census from ${worker}`);
    await sleep(20);
  }
}

interface ProxySpec {
  id: string;
  label: string;
  start(dir: string, port: number, backendPort: number): Promise<RunningProxy>;
}

async function workerOf(proc: Proc, url: string): Promise<number> {
  await waitForOk(url, READY_TIMEOUT_MS, proc.isAlive);
  return servingChild(proc, READY_TIMEOUT_MS);
}

function edgelbSpec(id: string, label: string, bin: () => string, poolExtra: string): ProxySpec {
  return {
    id,
    label,
    async start(dir, port, backendPort) {
      await mkdir(dir, { recursive: true });
      const config = join(dir, 'edgelb.yaml');
      await writeFile(config, `version: 1
threads: 1
listen: ["127.0.0.1:${port}"]
access_log: false
upstreams:
  default:
    peers: ["127.0.0.1:${backendPort}"]
${poolExtra}`);
      const hook = CENSUS ? ['--import', join(repoRoot, 'bench', 'rig', 'memory-census.ts')] : [];
      const proc = startProcess(id, process.execPath, [...hook, bin(), '-c', config], {
        cwd: dir, env: { ...process.env, LOG_LEVEL: 'warn', ...(CENSUS ? { MEMORY_CENSUS_DIR: dir } : {}) }, cpus: PROXY_CPUS,
      });
      const worker = await workerOf(proc, `http://127.0.0.1:${port}/`);
      if (!CENSUS) return { proc, worker, port };
      const deadline = Date.now() + READY_TIMEOUT_MS;
      while (!existsSync(join(dir, `census-${worker}.ready`))) {
        if (Date.now() > deadline) throw new Error(`${id}: bench/rig/memory-census.ts did not load in the worker`);
        await sleep(20);
      }
      return { proc, worker, port, census: () => readCensus(dir, worker) };
    },
  };
}

let edgelbBin = '';
const PROXIES: readonly ProxySpec[] = [
  edgelbSpec('edgelb', 'edgelb (default limits: max_connections_per_peer 256)', () => edgelbBin, ''),
  edgelbSpec('edgelb-1024', 'edgelb, max_connections_per_peer: 1024', () => edgelbBin, '    max_connections_per_peer: 1024\n'),
  {
    id: 'nginx',
    label: 'nginx (proxy_buffering on, the default)',
    async start(dir, port, backendPort) {
      const proc = await startNginx('nginx-proxy', dir, proxyConfig(dir, port, [backendPort], true), PROXY_CPUS);
      return { proc, worker: await workerOf(proc, `http://127.0.0.1:${port}/`), port };
    },
  },
];

// ---- clients -----------------------------------------------------------------------------------

interface Client {
  socket: net.Socket;
  closed: boolean;
  /** Every response asked for has arrived whole. */
  done: boolean;
  /** Resolves once every response asked for has arrived whole (reading clients only). */
  answered: Promise<void>;
}

/**
 * How a client treats its responses: `stalled` reads nothing (paused before it connects, its
 * socket never starts reading, so everything stays in the kernel), `reading` reads them whole at
 * once; `reading` waits for the answers before the next batch connects, `streaming` does not.
 */
type ClientMode = 'stalled' | 'reading' | 'streaming';

/** Opens a connection and writes `requests` copies of `request`. */
function openClient(port: number, request: string, requests: number, mode: ClientMode): Promise<Client> {
  return new Promise((resolveClient, rejectClient) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let markAnswered: () => void = () => {};
    const client: Client = { socket, closed: false, done: false, answered: new Promise((done) => (markAnswered = done)) };
    if (mode === 'stalled') socket.pause();
    else {
      // Responses are parsed just enough to know where each ends: a head, then Content-Length bytes.
      let head = '';
      let bodyLeft = -1;
      let left = requests;
      socket.on('data', (chunk: Buffer) => {
        let at = 0;
        while (at < chunk.length && left > 0) {
          if (bodyLeft < 0) {
            const take = chunk.subarray(at, at + 16 * 1024).toString('latin1');
            const end = (head + take).indexOf('\r\n\r\n');
            if (end < 0) {
              head += take;
              at += take.length;
              continue;
            }
            at += end + 4 - head.length;
            bodyLeft = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head + take.slice(0, end + 4 - head.length))?.[1] ?? 0);
            head = '';
          }
          const taken = Math.min(bodyLeft, chunk.length - at);
          bodyLeft -= taken;
          at += taken;
          if (bodyLeft === 0) {
            bodyLeft = -1;
            if (--left === 0) {
              client.done = true;
              markAnswered();
            }
          }
        }
      });
    }
    socket.on('error', (error) => {
      if (socket.connecting) rejectClient(error);
    });
    socket.once('close', () => (client.closed = true));
    socket.once('connect', () => {
      socket.write(request.repeat(requests));
      resolveClient(client);
    });
  });
}

async function openClients(port: number, request: string, requests: number, mode: ClientMode): Promise<Client[]> {
  const clients: Client[] = [];
  for (let i = 0; i < CONNECTIONS; i += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, CONNECTIONS - i) }, () => openClient(port, request, requests, mode));
    clients.push(...await withTimeout(Promise.all(batch), 10_000, 'clients to connect'));
    if (mode === 'reading') await withTimeout(Promise.all(clients.slice(i).map((client) => client.answered)), 10_000, 'small responses');
  }
  return clients;
}

function closeClients(clients: readonly Client[]): void {
  for (const client of clients) client.socket.destroy();
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whole GETs read to the end, a few at a time: the proxy's code paths and buffers in use before "before". */
async function warmUp(port: number): Promise<void> {
  const get = (path: string) => new Promise<void>((done, fail) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.once('end', done);
      res.once('error', fail);
    });
    req.once('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.once('error', fail);
  });
  for (let round = 0; round < 4; round++) await Promise.all([get('/1m'), get('/1m'), get('/1m'), get('/1m'), get('/'), get('/')]);
}

// ---- measurement -------------------------------------------------------------------------------

function rssKiB(pid: number): number {
  const memory = readMemory(pid);
  if (memory === undefined) throw new Error(`process ${pid} is gone`);
  return memory.rssKiB;
}

async function sampleRss(pid: number, ms: number): Promise<number[]> {
  const samples: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    samples.push(rssKiB(pid));
    await sleep(SAMPLE_MS);
  }
  return samples;
}

interface Placement {
  /** Requests that reached the backend by the end of the stall (still sending or finished). */
  requestsAtBackend: number;
  /** Of those, the ones the backend had written out whole (it logged them). */
  finishedAtBackend: number;
  /** Clients whose receive queue holds bytes of a response. */
  clientsReceiving: number;
  /** Client connections the proxy had already closed (its socket in FIN-WAIT, its send queue still draining). */
  closedByProxy: number;
  /** Bytes, summed over all connections. */
  backendQueued: number;
  sentToProxy: number;
  proxyRecvQ: number;
  inProxyProcess: number;
  proxySendQ: number;
  clientRecvQ: number;
  /** What the client processes read themselves: 0, or the stall was not one. */
  clientsRead: number;
}

/**
 * Where the bytes of the responses are, from both ends of every connection. A request the backend
 * finished (logged) had its `$bytes_sent` written to its socket, of which what that socket still
 * queues has not reached the proxy; for one still running, its socket's bytes_acked did (a
 * finished request's own counters cannot be used: once nginx has closed a socket and the proxy
 * acknowledged everything, the kernel keeps it as a FIN-WAIT-2 stub without them). What the
 * clients' sockets received plus what the proxy's sockets to them still queue is what the proxy
 * wrote. What reached the proxy and is neither in its receive queue nor written is in the proxy
 * process (or, for nginx, in its temporary file).
 */
function placement(sockets: readonly TcpSocket[], proxyPort: number, backendPort: number, finished: readonly BackendLine[], clients: readonly Client[]): Placement {
  const backendSide = sockets.filter((s) => s.localPort === backendPort);
  const proxyUpstream = sockets.filter((s) => s.peerPort === backendPort);
  const proxyDownstream = sockets.filter((s) => s.localPort === proxyPort);
  const clientSide = sockets.filter((s) => s.peerPort === proxyPort);
  const byProxyPort = new Map(backendSide.map((s) => [s.peerPort, s]));
  const finishedPorts = new Set(finished.map((line) => line.remotePort));
  const running = backendSide.filter((s) => !finishedPorts.has(s.peerPort));
  const sentToProxy = sum(finished.map((line) => line.bytesSent - (byProxyPort.get(line.remotePort)?.sendQ ?? 0))) + sum(running.map((s) => s.bytesAcked));
  const proxyRecvQ = sum(proxyUpstream.map((s) => s.recvQ));
  const proxySendQ = sum(proxyDownstream.map((s) => s.sendQ));
  const written = sum(clientSide.map((s) => s.bytesReceived)) + proxySendQ;
  return {
    requestsAtBackend: finished.length + running.length,
    finishedAtBackend: finished.length,
    clientsReceiving: clientSide.filter((s) => s.recvQ > 0).length,
    closedByProxy: proxyDownstream.filter((s) => s.state.startsWith('FIN-WAIT')).length,
    backendQueued: sum(backendSide.map((s) => s.sendQ)),
    sentToProxy,
    proxyRecvQ,
    inProxyProcess: sentToProxy - proxyRecvQ - written,
    proxySendQ,
    clientRecvQ: sum(clientSide.map((s) => s.recvQ)),
    clientsRead: sum(clients.map((client) => client.socket.bytesRead)),
  };
}

interface StallResult {
  proxy: ProxySpec;
  scenario: string;
  beforeKiB: number;
  peakKiB: number;
  afterKiB: number;
  hwmKiB: number;
  closedEarly: number;
  /** Stalled scenarios only. */
  placement?: Placement;
  /** With `--census`, for edgelb: at the end of the stall, and after the settle. */
  census?: { stalled: Census; settled: Census };
}

interface IdleResult {
  proxy: ProxySpec;
  beforeKiB: number;
  idleKiB: number;
  betweenKiB: number;
  idle2KiB: number;
  afterKiB: number;
  upstreamConnections: number;
  closedEarly: number;
}

let runDir = '';
let backendPort = 0;
let backendDir = '';

async function withProxy<T>(spec: ProxySpec, scenarioId: string, body: (proxy: RunningProxy) => Promise<T>): Promise<T> {
  const [port] = await freePorts(1);
  const proxy = await spec.start(join(runDir, `${spec.id}-${scenarioId}`), port!, backendPort);
  try {
    await warmUp(port!);
    await sleep(1000);
    return await body(proxy);
  } finally {
    await stopProcess(proxy.proc);
  }
}

async function stalledReaders(spec: ProxySpec, scenarioId: string, scenario: string, requests: number): Promise<StallResult> {
  return withProxy(spec, scenarioId, async ({ worker, port, census }) => {
    const beforeKiB = rssKiB(worker);
    const startedAt = Date.now();
    const clients = await openClients(port, 'GET /1m HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', requests, 'stalled');
    log(`${spec.id} ${scenario}: ${clients.length} connections stalled, ${STALL_S} s`);
    const stalled = await sampleRss(worker, STALL_S * 1000);
    const stallEnd = Date.now();
    const sockets = tcpSockets([port, backendPort]);
    const finished = backendLog(backendDir).filter((line) => line.uri === '/1m' && line.atMs >= startedAt && line.atMs <= stallEnd);
    const where = placement(sockets, port, backendPort, finished, clients);
    const closedEarly = clients.filter((client) => client.closed).length;
    const atStall = await census?.();
    closeClients(clients);
    const settled = await sampleRss(worker, SETTLE_S * 1000);
    const atSettle = await census?.();
    return {
      proxy: spec,
      scenario,
      beforeKiB,
      peakKiB: Math.max(...stalled),
      afterKiB: settled.at(-1) ?? rssKiB(worker),
      hwmKiB: readMemory(worker)!.peakKiB,
      closedEarly,
      placement: where,
      census: atStall && atSettle ? { stalled: atStall, settled: atSettle } : undefined,
    };
  });
}

/**
 * The control for A: the same requests read at full speed. The proxy passes the same bytes through
 * and holds none for long, so what its RSS does here is the cost of the traffic itself.
 */
async function fastReaders(spec: ProxySpec): Promise<StallResult> {
  return withProxy(spec, 'A0', async ({ worker, port }) => {
    const beforeKiB = rssKiB(worker);
    const clients = await openClients(port, 'GET /1m HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 1, 'streaming');
    const samples = [rssKiB(worker)];
    const all = Promise.all(clients.map((client) => client.answered));
    let done = false;
    void all.then(() => (done = true));
    const deadline = performance.now() + STALL_S * 1000;
    while (!done && performance.now() < deadline) {
      await sleep(SAMPLE_MS);
      samples.push(rssKiB(worker));
    }
    if (!done) throw new Error(`${spec.id} A0: the responses were not all read within ${STALL_S} s`);
    // A client that has its response may see its idle connection closed (edgelb's keep-alive is 5 s).
    const closedEarly = clients.filter((client) => client.closed && !client.done).length;
    closeClients(clients);
    const settled = await sampleRss(worker, SETTLE_S * 1000);
    log(`${spec.id} A0: ${CONNECTIONS} responses read at full speed`);
    return {
      proxy: spec,
      scenario: 'A0: the same, read at full speed (control)',
      beforeKiB,
      peakKiB: Math.max(...samples, ...settled.slice(0, 4)),
      afterKiB: settled.at(-1) ?? rssKiB(worker),
      hwmKiB: readMemory(worker)!.peakKiB,
      closedEarly,
    };
  });
}

async function idleConnections(spec: ProxySpec): Promise<IdleResult> {
  return withProxy(spec, 'C', async ({ worker, port }) => {
    const request = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    // edgelb closes a keep-alive connection idle for 5 s (limits.client_keepalive_timeout): measure within ~2 s.
    const pass = async () => {
      const clients = await openClients(port, request, 1, 'reading');
      await sleep(750);
      const idle = median(await sampleRss(worker, 1000));
      const upstream = tcpSockets([backendPort]).filter((s) => s.peerPort === backendPort).length;
      const closedEarly = clients.filter((client) => client.closed).length;
      closeClients(clients);
      return { idle, upstream, closedEarly };
    };
    const beforeKiB = rssKiB(worker);
    const first = await pass();
    await sleep(2000);
    const betweenKiB = rssKiB(worker);
    const second = await pass();
    await sleep(2000);
    log(`${spec.id} C: idle connections measured`);
    return {
      proxy: spec,
      beforeKiB,
      idleKiB: first.idle,
      betweenKiB,
      idle2KiB: second.idle,
      afterKiB: rssKiB(worker),
      upstreamConnections: Math.max(first.upstream, second.upstream),
      closedEarly: first.closedEarly + second.closedEarly,
    };
  });
}

// ---- report ------------------------------------------------------------------------------------

const mb = (kib: number): string => `${Math.round((kib * 1024) / 1e6)} MB`;
const signedMb = (kib: number): string => `${kib >= 0 ? '+' : '−'}${Math.round((Math.abs(kib) * 1024) / 1e6)} MB`;
const kibPer = (bytes: number, count: number): string => (count === 0 ? '—' : (Math.round(bytes / 1024 / count) || 0).toLocaleString('en-US'));

function stallTable(results: readonly StallResult[]): string {
  const rows = results.map((r) => {
    const perClient = ((r.peakKiB - r.beforeKiB) * 1024) / 1000 / CONNECTIONS;
    return `| ${r.proxy.label} | ${r.scenario} | ${mb(r.beforeKiB)} | ${mb(r.peakKiB)} (${signedMb(r.peakKiB - r.beforeKiB)}) | ${perClient.toFixed(0)} KB | ${mb(r.afterKiB)} (${signedMb(r.afterKiB - r.beforeKiB)}) | ${mb(r.hwmKiB)} |${r.closedEarly ? ` ${r.closedEarly} closed early |` : ''}`;
  });
  return [
    `| proxy | scenario | RSS before | peak while stalled (A0: while reading) (Δ) | Δ per client | ${SETTLE_S} s after the clients closed (Δ) | VmHWM |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

function placementTable(results: readonly StallResult[]): string {
  const rows = results.flatMap(({ proxy, scenario, placement: p }) => {
    if (p === undefined) return [];
    const n = p.requestsAtBackend;
    return `| ${proxy.label} | ${scenario} | ${n} (${p.finishedAtBackend} written whole) | ${p.clientsReceiving} | ${p.closedByProxy} | ${kibPer(p.backendQueued, n)} | ${kibPer(p.sentToProxy, n)} | ${kibPer(p.proxyRecvQ, n)} | ${kibPer(p.inProxyProcess, n)} | ${kibPer(p.proxySendQ, n)} | ${kibPer(p.clientRecvQ, n)} |`;
  });
  return [
    '| proxy | scenario | requests at the backend | clients receiving | client connections the proxy had closed | in the backend\'s send queue | reached the proxy | in the proxy\'s receive queue | in the proxy process (nginx: and its temp file) | in the proxy\'s send queues | in the clients\' receive queues |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

function censusTable(results: readonly StallResult[]): string {
  const mib = (bytes: number): string => `${Math.round(bytes / 2 ** 20)}`;
  const kib = (bytes: number, count: number): string => (count === 0 ? '—' : `${Math.round(bytes / 1024 / count)}`);
  const rows = results.flatMap(({ proxy, scenario, census }) => {
    if (census === undefined) return [];
    const { stalled: c, settled: after } = census;
    const n = c.clientsWithQueue;
    return [`| ${proxy.label} | ${scenario} | ${n} | ${kib(c.clientWriteQueued, n)} | ${kib(c.upstreamReadBuffered, n)} | ${mib(c.now.arrayBuffers)} (${mib(c.afterGc.arrayBuffers)}) | ${kib(c.afterGc.arrayBuffers, n)} | ${mib(c.afterGc.heapUsed)} | ${Math.round(c.now.mallocHeapKiB / 1024)} | ${mib(after.now.arrayBuffers)} (${mib(after.afterGc.arrayBuffers)}) | ${Math.round(after.afterGc.mallocHeapKiB / 1024)} | ${Math.round(after.now.rssKiB / 1024)} → ${Math.round(after.afterGc.rssKiB / 1024)} |`];
  });
  return [
    `| proxy | scenario | client sockets with bytes queued | queued to each, KiB | read from its peer, not parsed yet, KiB | array buffers, MiB (after a full GC) | live array buffers per queued client, KiB | V8 heap used after GC, MiB | glibc [heap], MiB | ${SETTLE_S} s after the clients closed: array buffers, MiB (after GC) | glibc [heap] after GC, MiB | RSS, MiB → after GC |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

function idleTable(results: readonly IdleResult[]): string {
  const per = (kib: number): string => `${((kib * 1024) / 1000 / CONNECTIONS).toFixed(1)} KB`;
  const rows = results.map((r) => `| ${r.proxy.label} | ${mb(r.beforeKiB)} | ${mb(r.idleKiB)} | ${per(r.idleKiB - r.beforeKiB)} | ${mb(r.betweenKiB)} | ${mb(r.idle2KiB)} | ${per(r.idle2KiB - r.betweenKiB)} | ${r.upstreamConnections} | ${mb(r.afterKiB)} |${r.closedEarly ? ` ${r.closedEarly} closed early |` : ''}`);
  return [
    `| proxy | RSS before | with ${CONNECTIONS.toLocaleString('en-US')} idle | Δ per connection | 2 s after they closed | again ${CONNECTIONS.toLocaleString('en-US')} idle | Δ per connection (second time) | upstream connections open | at the end |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

// ---- main --------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const machine = describeMachine(repoRoot);
  const startedAt = new Date();
  const loadAtStart = loadAverage();
  runDir = await mkdtemp(join(tmpdir(), 'edgelb-slow-readers-'));
  backendDir = join(runDir, 'backend');
  await mkdir(join(backendDir, 'static'), { recursive: true });
  await writeFile(join(backendDir, 'static', '1m'), Buffer.alloc(MIB, 'x'));
  [backendPort] = (await freePorts(1)) as [number];
  const backend = await startNginx('backend', backendDir, backendConfig(backendDir, backendPort));
  await waitForOk(`http://127.0.0.1:${backendPort}/`, READY_TIMEOUT_MS, backend.isAlive);
  edgelbBin = values.edgelb === undefined ? await buildEdgelb(repoRoot, join(runDir, 'edgelb-package')) : resolve(values.edgelb);
  log(`backend on ${backendPort}; edgelb: ${values.edgelb ?? 'this checkout, compiled'}`);

  const stalls: StallResult[] = [];
  const idles: IdleResult[] = [];
  for (const spec of PROXIES) {
    stalls.push(await stalledReaders(spec, 'A', 'A: 1 × GET /1m', 1));
    stalls.push(await fastReaders(spec));
    stalls.push(await stalledReaders(spec, 'B', `B: ${PIPELINED} pipelined`, PIPELINED));
    idles.push(await idleConnections(spec));
  }
  if (!backend.isAlive()) throw new Error('the backend nginx exited during the run');

  const nginxVersion = spawnSync(NGINX, ['-v'], { encoding: 'utf8' }).stderr.trim();
  const elapsed = (Date.now() - startedAt.getTime()) / 1000;
  process.stdout.write(`
Run of ${startedAt.toISOString().replace('T', ' ').slice(0, 19)} UTC, ${elapsed.toFixed(0)} s; edgelb ${machine.edgelb}; Node ${machine.node}; ${nginxVersion};
${CONNECTIONS} connections per scenario, stall ${STALL_S} s, RSS sampled every ${SAMPLE_MS} ms; load average ${loadAtStart} at the start, ${loadAverage()} at the end.

Memory of the serving process (VmRSS of edgelb's worker, of nginx's worker; MB = 10^6 bytes, KB = 10^3 bytes):

${stallTable(stalls)}

Where the response bytes were at the end of the stall (ss, both ends of every connection), KiB per request that reached the backend:

${placementTable(stalls)}

Idle keep-alive connections (one \`GET /\` each, then idle; RSS the median of 4 samples 0.75–1.75 s after the last answer):

${idleTable(idles)}
${stalls.some((r) => r.census) ? `
Where edgelb's worker memory was (--census; MiB = 2^20 bytes), at the end of each stall:

${censusTable(stalls)}
` : ''}`);
  const readByClients = stalls.filter((r) => (r.placement?.clientsRead ?? 0) > 0);
  if (readByClients.length > 0) log(`warning: stalled clients read bytes in ${readByClients.map((r) => `${r.proxy.id} ${r.scenario}`).join(', ')}`);
}

/** A watchdog: a run that goes wrong at every step still ends. */
const BUDGET_MS = (120 + PROXIES.length * (3 * (STALL_S + SETTLE_S + 30) + 30)) * 1000;
boundedRun(main, {
  budgetMs: BUDGET_MS,
  log,
  cleanup: async () => {
    if (runDir) await rm(runDir, { recursive: true, force: true });
  },
});
