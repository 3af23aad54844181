/**
 * WebSocket tunnels: edgelb, nginx and HAProxy in front of the same WebSocket echo upstream (the
 * `ws` server of test/fixtures/ws-upstream.ts, its own Node process), in one run of about two
 * minutes. Prints two tables.
 *
 *   npx node bench/websocket.ts [--seconds 10] [--rounds 2] [--clients 100] [--idle 1000]
 *                               [--settle 2] [--edgelb FILE]
 *
 * 1. Echo: `--clients` tunnels, each in a closed loop (a 64-byte text message, wait for its echo,
 *    send the next) for `--seconds`, in `--rounds` interleaved rounds after an unmeasured 2 s
 *    warm-up per system. Round trips per second, their p50/p99, and the CPU time (utime + stime
 *    from /proc/PID/stat) the proxy process spent per round trip; the upstream's and the load
 *    generator's CPU use show what else was busy. `direct` is the same load straight to the
 *    upstream: the floor.
 * 2. Idle (run first, on processes that have carried only 100 warm-up tunnels): `--idle` tunnels
 *    opened, one echo on each, then idle; (RSS with them − RSS before) / tunnels, each RSS read
 *    after `--settle` seconds of quiet (median of 5 reads over 0.4 s). For `direct`, the
 *    upstream's own RSS: what a Node process holding one socket per WebSocket costs.
 *
 * Processes: each proxy is pinned to CPU 1 (edgelb's primary and its one worker, nginx's master
 * and worker, HAProxy's one process), the load generator to CPU 0; the upstream floats, as the
 * upstreams of bench/run.ts do. The load generator is this file run with `--loader`, a process of
 * its own driven over its stdin: it speaks WebSocket on plain sockets (a real handshake with its
 * `Sec-WebSocket-Accept` checked, masked client frames, every echo compared byte for byte),
 * which costs less CPU per message than the `ws` client, so that it is not what limits the run.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { buildEdgelb } from './rig/edgelb-build.ts';
import { HAPROXY, startHaproxy } from './rig/haproxy.ts';
import { httpGet, waitForOk } from './rig/http.ts';
import { describeMachine, loadAverage } from './rig/machine.ts';
import { readMemory } from './rig/memory.ts';
import { NGINX, startNginx } from './rig/nginx.ts';
import { freePorts } from './rig/ports.ts';
import { startProcess, type Proc } from './rig/processes.ts';
import { sleep } from './rig/wait.ts';
import { median } from './stats.ts';
import { boundedRun } from './rig/bounded-run.ts';
import { wholeNumber } from './rig/whole-number.ts';
import { LoaderProcess } from './rig/loader-process.ts';
import { cpuMicros } from './rig/cpu-time.ts';
import { servingChild } from './rig/serving-child.ts';

const PROXY_CPUS = '1';
const LOADER_CPUS = '0';
const PAYLOAD_BYTES = 64;
const WARMUP_S = 2;
/** Tunnels opened, used once and closed before the idle measure's first RSS read. */
const IDLE_WARMUP = 100;
/** Tunnels opened at once; each batch waits for the one before (listen backlogs are 511). */
const OPEN_BATCH = 100;
const READY_TIMEOUT_MS = 10_000;
const HISTOGRAM_MAX_US = 1_000_000;
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

// ---- the load generator (`--loader`) -----------------------------------------------------------

type Command =
  | { cmd: 'open'; port: number; count: number }
  | { cmd: 'echo'; seconds: number }
  | { cmd: 'ping' }
  | { cmd: 'check' }
  | { cmd: 'close' }
  | { cmd: 'ready' };

interface EchoReply {
  messages: number;
  elapsedMs: number;
  /** [round trip in µs, count], non-zero buckets only. */
  histogram: [number, number][];
}

interface Conn {
  socket: net.Socket;
  /** Bytes of the expected echo seen so far; -1 while no echo is awaited. */
  got: number;
  sentAt: number;
  next: number;
  closing: boolean;
}

/** What the server sends back: an unmasked text frame with the same 64 bytes. */
const PAYLOAD = Buffer.alloc(PAYLOAD_BYTES, 'x');
const ECHO = Buffer.concat([Buffer.from([0x81, PAYLOAD_BYTES]), PAYLOAD]);

/** Client frames must be masked; 64 of them, each with its own random key, used in turn. */
function maskedFrames(opcode: number, payload: Buffer, count: number): Buffer[] {
  return Array.from({ length: count }, () => {
    const key = randomBytes(4);
    const frame = Buffer.alloc(6 + payload.length);
    frame[0] = 0x80 | opcode;
    frame[1] = 0x80 | payload.length;
    key.copy(frame, 2);
    for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i]! ^ key[i & 3]!;
    return frame;
  });
}

async function runLoader(): Promise<void> {
  const frames = maskedFrames(0x1, PAYLOAD, 64);
  const closeFrame = maskedFrames(0x8, Buffer.from([0x03, 0xe8]), 1)[0]!;
  const conns = new Set<Conn>();
  const histogram = new Uint32Array(HISTOGRAM_MAX_US + 1);
  const errors: string[] = [];
  const counters = { badEchoes: 0, unexpectedCloses: 0, handshakeFailures: 0 };
  const noteError = (message: string) => {
    if (errors.length < 10) errors.push(message);
  };
  /** Called when an awaited echo is complete. */
  let onEcho: (conn: Conn, now: number) => void = () => {};

  const send = (conn: Conn) => {
    conn.got = 0;
    conn.sentAt = performance.now();
    conn.socket.write(frames[conn.next++ & 63]!);
  };

  const openOne = (port: number): Promise<void> =>
    new Promise((resolveOpen) => {
      const key = randomBytes(16).toString('base64');
      const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
      const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
      const conn: Conn = { socket, got: -1, sentAt: 0, next: 0, closing: false };
      let head = '';
      let open = false;
      let failed = false;
      const fail = (why: string) => {
        if (failed) return;
        failed = true;
        counters.handshakeFailures++;
        noteError(why);
        socket.destroy();
        resolveOpen();
      };
      const timer = setTimeout(() => fail('handshake: no 101 within 5 s'), 5000);
      socket.on('connect', () => {
        socket.write(`GET /echo HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      });
      const onFrameBytes = (data: Buffer) => {
        if (conn.got < 0 || conn.got + data.length > ECHO.length || !data.equals(ECHO.subarray(conn.got, conn.got + data.length))) {
          counters.badEchoes++;
          noteError(`unexpected bytes: ${data.subarray(0, 16).toString('hex')}`);
          conn.got = -1;
          return;
        }
        conn.got += data.length;
        if (conn.got === ECHO.length) {
          conn.got = -1;
          onEcho(conn, performance.now());
        }
      };
      socket.on('data', (data: Buffer) => {
        if (conn.closing) return;
        if (open) return onFrameBytes(data);
        head += data.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        clearTimeout(timer);
        const lines = head.slice(0, end).split('\r\n');
        const acceptLine = lines.find((line) => /^sec-websocket-accept:/i.test(line));
        if (!/^HTTP\/1\.1 101 /.test(lines[0] ?? '') || acceptLine?.split(':')[1]?.trim() !== accept) return fail(`handshake: ${lines[0]}`);
        open = true;
        conns.add(conn);
        resolveOpen();
        const rest = Buffer.from(head.slice(end + 4), 'latin1');
        if (rest.length > 0) onFrameBytes(rest);
      });
      socket.on('error', (err) => noteError(err.message));
      socket.on('close', () => {
        clearTimeout(timer);
        if (!open) return fail('handshake: connection closed');
        conns.delete(conn);
        if (!conn.closing) {
          counters.unexpectedCloses++;
          noteError('a tunnel closed by the other side');
        }
      });
    });

  const waitFor = async (condition: () => boolean, ms: number) => {
    const deadline = performance.now() + ms;
    while (!condition() && performance.now() < deadline) await sleep(5);
  };
  const awaiting = () => [...conns].filter((conn) => conn.got >= 0).length;

  const handle = async (command: Command): Promise<unknown> => {
    switch (command.cmd) {
      case 'open': {
        const before = conns.size;
        for (let done = 0; done < command.count; done += OPEN_BATCH) {
          await Promise.all(Array.from({ length: Math.min(OPEN_BATCH, command.count - done) }, () => openOne(command.port)));
        }
        return { opened: conns.size - before };
      }
      case 'echo': {
        histogram.fill(0);
        let messages = 0;
        let running = true;
        const started = performance.now();
        const deadline = started + command.seconds * 1000;
        onEcho = (conn, now) => {
          if (now <= deadline) {
            messages++;
            histogram[Math.min(HISTOGRAM_MAX_US, Math.round((now - conn.sentAt) * 1000))]!++;
          }
          if (running) send(conn);
        };
        for (const conn of conns) send(conn);
        await sleep(command.seconds * 1000);
        running = false;
        // The last echoes come back before the tunnels are used for anything else.
        await waitFor(() => awaiting() === 0, 2000);
        const sparse: [number, number][] = [];
        for (let us = 0; us <= HISTOGRAM_MAX_US; us++) if (histogram[us]! > 0) sparse.push([us, histogram[us]!]);
        const reply: EchoReply = { messages, elapsedMs: Math.min(performance.now(), deadline) - started, histogram: sparse };
        return { ...reply, missing: awaiting() };
      }
      case 'ping': {
        onEcho = () => {};
        for (const conn of conns) send(conn);
        await waitFor(() => awaiting() === 0, 5000);
        return { sent: conns.size, missing: awaiting() };
      }
      case 'check': {
        // What happened since the last check.
        const reply = { open: conns.size, ...counters, errors: errors.splice(0) };
        counters.badEchoes = counters.unexpectedCloses = counters.handshakeFailures = 0;
        return reply;
      }
      case 'close': {
        const count = conns.size;
        for (const conn of conns) {
          conn.closing = true;
          conn.socket.end(closeFrame);
        }
        await waitFor(() => conns.size === 0, 5000);
        for (const conn of conns) conn.socket.destroy();
        return { closed: count };
      }
      case 'ready':
        return {};
    }
  };

  // One command per line on stdin, one JSON answer per line on stdout, in order. No stdin: the
  // parent is gone, and so is this process.
  const lines = createInterface({ input: process.stdin });
  lines.on('close', () => process.exit(0));
  for await (const line of lines) {
    const reply = await handle(JSON.parse(line) as Command);
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  }
}

/** The load generator: this script with --loader, on its own CPU. */
class Loader extends LoaderProcess {
  constructor(script: string) {
    super(LOADER_CPUS, [script, '--loader']);
  }
}

// ---- the systems -------------------------------------------------------------------------------

interface Target {
  id: string;
  label: string;
  port: number;
  /** The process that carries the tunnels (undefined: direct). */
  pid?: number;
}

function log(message: string): void {
  process.stderr.write(`[websocket] ${message}\n`);
}


function nginxConfig(dir: string, port: number, upstreamPort: number): string {
  // As root, nginx switches workers to "nobody:nobody", a group Debian does not have.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${dir}/${kind};`).join('\n');
  return `${user}worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
${temp}
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://127.0.0.1:${upstreamPort};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 3600s;
    }
  }
}
`;
}

function haproxyConfig(port: number, upstreamPort: number): string {
  return `global
  nbthread 1
  maxconn 4096

defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout tunnel 1h

frontend fe
  bind 127.0.0.1:${port}
  default_backend be

backend be
  server ws 127.0.0.1:${upstreamPort}
`;
}

// ---- measuring ---------------------------------------------------------------------------------


function rssKiB(pid: number): number {
  const memory = readMemory(pid);
  if (memory === undefined) throw new Error(`process ${pid} is gone`);
  return memory.rssKiB;
}

async function settledRss(pid: number, settleS: number): Promise<number> {
  await sleep(settleS * 1000);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(rssKiB(pid));
    if (i < 4) await sleep(100);
  }
  return median(samples);
}

interface Totals {
  messages: number;
  elapsedMs: number;
  rounds: number[];
  proxyCpuUs: number;
  upstreamCpuUs: number;
  loaderCpuUs: number;
  wallUs: number;
  histogram: Map<number, number>;
  problems: string[];
}

function percentileOf(histogram: Map<number, number>, p: number): number {
  const total = [...histogram.values()].reduce((a, b) => a + b, 0);
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const us of [...histogram.keys()].sort((a, b) => a - b)) {
    seen += histogram.get(us)!;
    if (seen >= rank) return us;
  }
  return Number.NaN;
}

interface LoaderCheck {
  open: number;
  badEchoes: number;
  unexpectedCloses: number;
  handshakeFailures: number;
  errors: string[];
}

async function upstreamOpen(upstreamPort: number): Promise<number> {
  const res = await httpGet(`http://127.0.0.1:${upstreamPort}/stats`);
  return (JSON.parse(res.body) as { open: number }).open;
}

/** Waits until the upstream has no tunnel open (bounded); returns how many were still open. */
async function upstreamDrained(upstreamPort: number, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  let open = await upstreamOpen(upstreamPort);
  while (open > 0 && Date.now() < deadline) {
    await sleep(50);
    open = await upstreamOpen(upstreamPort);
  }
  return open;
}

function describeProblems(check: LoaderCheck): string[] {
  const problems: string[] = [];
  if (check.handshakeFailures > 0) problems.push(`${check.handshakeFailures} handshakes failed`);
  if (check.badEchoes > 0) problems.push(`${check.badEchoes} wrong echoes`);
  if (check.unexpectedCloses > 0) problems.push(`${check.unexpectedCloses} tunnels closed by the other side`);
  if (check.errors.length > 0) problems.push(`(${[...new Set(check.errors)].slice(0, 3).join('; ')})`);
  return problems;
}

async function echoRound(loader: Loader, target: Target, upstream: Proc, upstreamPort: number, clients: number, seconds: number, totals?: Totals): Promise<void> {
  await loader.run({ cmd: 'check' });
  const { opened } = await loader.run<{ opened: number }>({ cmd: 'open', port: target.port, count: clients });
  const problems: string[] = [];
  if (opened < clients) problems.push(`${clients - opened} of ${clients} tunnels did not open`);
  const proxyBefore = target.pid === undefined ? 0 : cpuMicros(target.pid)!;
  const upstreamBefore = cpuMicros(upstream.pid)!;
  const loaderBefore = cpuMicros(loader.pid)!;
  const wallBefore = performance.now();
  const reply = await loader.run<EchoReply & { missing: number }>({ cmd: 'echo', seconds });
  const wallUs = (performance.now() - wallBefore) * 1000;
  const proxyCpuUs = target.pid === undefined ? 0 : cpuMicros(target.pid)! - proxyBefore;
  const upstreamCpuUs = cpuMicros(upstream.pid)! - upstreamBefore;
  const loaderCpuUs = cpuMicros(loader.pid)! - loaderBefore;
  if (reply.missing > 0) problems.push(`${reply.missing} echoes never came back`);
  await loader.run({ cmd: 'close' });
  problems.push(...describeProblems(await loader.run<LoaderCheck>({ cmd: 'check' })));
  const lingering = await upstreamDrained(upstreamPort, 5000);
  if (lingering > 0) problems.push(`${lingering} upstream tunnels still open 5 s after the clients closed`);
  const rate = reply.messages / (reply.elapsedMs / 1000);
  log(`${target.id}${totals ? '' : ' (warm-up)'}: ${Math.round(rate)} msgs/s${problems.length ? `; ${problems.join(', ')}` : ''}`);
  if (totals === undefined) return;
  totals.messages += reply.messages;
  totals.elapsedMs += reply.elapsedMs;
  totals.rounds.push(rate);
  totals.proxyCpuUs += proxyCpuUs;
  totals.upstreamCpuUs += upstreamCpuUs;
  totals.loaderCpuUs += loaderCpuUs;
  totals.wallUs += wallUs;
  for (const [us, count] of reply.histogram) totals.histogram.set(us, (totals.histogram.get(us) ?? 0) + count);
  totals.problems.push(...problems);
}

interface IdleResult {
  beforeKiB: number;
  withKiB: number;
  opened: number;
  upstreamOpen: number;
  stillOpen: number;
  problems: string[];
}

/** `pid`: the process whose RSS is read (the proxy's; for direct, the upstream's). */
async function idleTunnels(loader: Loader, target: Target, pid: number, upstreamPort: number, count: number, settleS: number): Promise<IdleResult> {
  const problems: string[] = [];
  await loader.run({ cmd: 'check' });
  // A warm-up: the code and buffers every tunnel uses are there before the first RSS read.
  await loader.run({ cmd: 'open', port: target.port, count: IDLE_WARMUP });
  await loader.run({ cmd: 'ping' });
  await loader.run({ cmd: 'close' });
  await upstreamDrained(upstreamPort, 5000);
  const beforeKiB = await settledRss(pid, settleS);
  const { opened } = await loader.run<{ opened: number }>({ cmd: 'open', port: target.port, count });
  if (opened < count) problems.push(`${count - opened} of ${count} tunnels did not open`);
  const ping = await loader.run<{ sent: number; missing: number }>({ cmd: 'ping' });
  if (ping.missing > 0) problems.push(`${ping.missing} of ${ping.sent} tunnels did not echo`);
  const withKiB = await settledRss(pid, settleS);
  const check = await loader.run<LoaderCheck>({ cmd: 'check' });
  const open = await upstreamOpen(upstreamPort);
  if (check.open < opened) problems.push(`${opened - check.open} tunnels dropped while idle`);
  await loader.run({ cmd: 'close' });
  const after = await loader.run<LoaderCheck>({ cmd: 'check' });
  problems.push(...describeProblems({
    open: 0,
    handshakeFailures: check.handshakeFailures + after.handshakeFailures,
    badEchoes: check.badEchoes + after.badEchoes,
    unexpectedCloses: check.unexpectedCloses + after.unexpectedCloses,
    errors: [...check.errors, ...after.errors],
  }));
  const lingering = await upstreamDrained(upstreamPort, 10_000);
  if (lingering > 0) problems.push(`${lingering} upstream tunnels still open 10 s after the clients closed`);
  log(`${target.id}: ${opened} idle tunnels, RSS ${beforeKiB} → ${withKiB} KiB${problems.length ? `; ${problems.join(', ')}` : ''}`);
  return { beforeKiB, withKiB, opened, upstreamOpen: open, stillOpen: check.open, problems };
}

// ---- report ------------------------------------------------------------------------------------

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((cell, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

const ms = (us: number) => (us / 1000).toFixed(2);
const percentOfCore = (cpuUs: number, wallUs: number) => `${Math.round((100 * cpuUs) / wallUs)} %`;
/** kB in /proc are KiB; KB here are 10^3 bytes. */
const kb = (kib: number) => (kib * 1.024).toFixed(1);

// ---- main --------------------------------------------------------------------------------------

const USAGE = `usage: npx node bench/websocket.ts [--seconds S] [--rounds N] [--clients N] [--idle N] [--settle S] [--edgelb FILE]

  --seconds S     length of each measured echo run                 (default 10)
  --rounds N      interleaved echo rounds per system                (default 2)
  --clients N     echo tunnels, each in a closed loop               (default 100)
  --idle N        idle tunnels for the memory measure               (default 1000)
  --settle S      quiet seconds before each RSS read                (default 2)
  --edgelb FILE   edgelb entry point to run (default: this checkout, compiled as its package runs it)`;

const repoRoot = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    clients: { type: 'string', default: '100' },
    idle: { type: 'string', default: '1000' },
    settle: { type: 'string', default: '2' },
    edgelb: { type: 'string' },
    loader: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (values.loader) {
  await runLoader();
} else {
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const options = {
    seconds: wholeNumber('seconds', values.seconds, 1, USAGE),
    rounds: wholeNumber('rounds', values.rounds, 1, USAGE),
    clients: wholeNumber('clients', values.clients, 1, USAGE),
    idle: wholeNumber('idle', values.idle, 1, USAGE),
    settle: wholeNumber('settle', values.settle, 0, USAGE),
  };
  let loader: Loader | undefined;
  let runDir: string | undefined;
  // Everything is bounded on its own; the budget is for a run that goes wrong at every step.
  const budgetS = 90 + 4 * (WARMUP_S + 12) + 4 * options.rounds * (options.seconds + 12) + 4 * (4 * options.settle + 40);
  process.on('exit', () => loader?.kill());

  const main = async () => {
    const startedAt = new Date();
    const machine = describeMachine(repoRoot);
    const loadAtStart = loadAverage();
    runDir = await mkdtemp(join(tmpdir(), 'edgelb-websocket-'));
    const [edgelbPort, nginxPort, haproxyPort] = (await freePorts(3)) as [number, number, number];

    const upstream = startProcess('ws-upstream', process.execPath, [join(repoRoot, 'test', 'fixtures', 'ws-upstream.ts'), '--port', '0'], { cwd: repoRoot });
    const upstreamPort = await new Promise<number>((resolvePort, rejectPort) => {
      const timer = setTimeout(() => rejectPort(new Error(`the upstream did not start: ${upstream.output()}`)), READY_TIMEOUT_MS);
      const lines = createInterface({ input: upstream.child.stdout! });
      lines.once('line', (line) => {
        clearTimeout(timer);
        resolvePort((JSON.parse(line) as { port: number }).port);
      });
    });

    const edgelbBin = values.edgelb === undefined ? await buildEdgelb(repoRoot, join(runDir, 'edgelb-package')) : resolve(values.edgelb);
    const edgelbDir = join(runDir, 'edgelb');
    await mkdir(edgelbDir, { recursive: true });
    await writeFile(join(edgelbDir, 'edgelb.yaml'), `version: 1
threads: 1
listen: ["127.0.0.1:${edgelbPort}"]
access_log: false
upstreams:
  ws:
    peers: ["127.0.0.1:${upstreamPort}"]
`);
    const edgelb = startProcess('edgelb', process.execPath, [edgelbBin, '-c', join(edgelbDir, 'edgelb.yaml')], {
      cwd: edgelbDir, env: { ...process.env, LOG_LEVEL: 'warn' }, cpus: PROXY_CPUS,
    });
    const nginx = await startNginx('nginx', join(runDir, 'nginx'), nginxConfig(join(runDir, 'nginx'), nginxPort, upstreamPort), PROXY_CPUS);
    const haproxy = await startHaproxy(join(runDir, 'haproxy'), haproxyConfig(haproxyPort, upstreamPort), PROXY_CPUS);
    for (const [proc, port] of [[edgelb, edgelbPort], [nginx, nginxPort], [haproxy, haproxyPort]] as const) {
      try {
        await waitForOk(`http://127.0.0.1:${port}/`, READY_TIMEOUT_MS, proc.isAlive);
      } catch (err) {
        throw new Error(`${proc.name}: ${(err as Error).message}; output: ${proc.output().trim().split('\n').slice(-5).join(' | ')}`);
      }
    }
    const targets: Target[] = [
      { id: 'direct', label: 'direct to the upstream (floor)', port: upstreamPort },
      { id: 'edgelb', label: 'edgelb, threads: 1', port: edgelbPort, pid: await servingChild(edgelb, READY_TIMEOUT_MS) },
      { id: 'nginx', label: 'nginx, worker_processes 1', port: nginxPort, pid: await servingChild(nginx, READY_TIMEOUT_MS) },
      { id: 'haproxy', label: 'HAProxy, nbthread 1', port: haproxyPort, pid: haproxy.pid },
    ];
    const nodeVersion = `${process.version} (${process.execPath.includes('node_modules') ? 'node_modules/node' : process.execPath})`;
    log(`upstream ${upstreamPort}, edgelb ${edgelbPort} (worker ${targets[1]!.pid}), nginx ${nginxPort}, haproxy ${haproxyPort}; Node ${nodeVersion}`);

    loader = new Loader(join(repoRoot, 'bench', 'websocket.ts'));
    await loader.run({ cmd: 'ready' });

    const totals = new Map<string, Totals>(targets.map((t) => [t.id, {
      messages: 0, elapsedMs: 0, rounds: [], proxyCpuUs: 0, upstreamCpuUs: 0, loaderCpuUs: 0, wallUs: 0, histogram: new Map(), problems: [],
    }]));

    // Idle tunnels first, on processes that have carried only a warm-up of a few tunnels: after the
    // echo runs a Node heap has room to spare that new tunnels fill without growing the RSS.
    const idle = new Map<string, IdleResult>();
    for (const target of targets) idle.set(target.id, await idleTunnels(loader, target, target.pid ?? upstream.pid, upstreamPort, options.idle, options.settle));
    for (const target of targets) await echoRound(loader, target, upstream, upstreamPort, options.clients, WARMUP_S);
    for (let round = 0; round < options.rounds; round++) {
      // Every other round in the opposite order, so that a slow stretch of the machine is shared.
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) await echoRound(loader, target, upstream, upstreamPort, options.clients, options.seconds, totals.get(target.id));
    }
    for (const proc of [upstream, edgelb, nginx, haproxy]) if (!proc.isAlive()) throw new Error(`${proc.name} exited during the run: ${proc.output()}`);
    // Warnings and errors the proxies wrote (the upstream prints only its port).
    for (const proc of [edgelb, nginx, haproxy]) {
      const output = proc.output().trim();
      if (output !== '') log(`${proc.name} said: ${output.split('\n').slice(-5).join(' | ')}`);
    }

    const floor = totals.get('direct')!;
    const rateOf = (t: Totals) => t.messages / (t.elapsedMs / 1000);
    const echoTable = table(
      ['', 'msgs/s', 'rounds', 'vs direct', 'p50 ms', 'p99 ms', 'proxy CPU µs per round trip', 'proxy CPU', 'upstream CPU', 'load gen CPU', 'errors'],
      targets.map((target) => {
        const t = totals.get(target.id)!;
        return [
          target.label,
          String(Math.round(rateOf(t))),
          t.rounds.map((r) => Math.round(r)).join(', '),
          target.pid === undefined ? '1' : (rateOf(t) / rateOf(floor)).toFixed(2),
          ms(percentileOf(t.histogram, 50)),
          ms(percentileOf(t.histogram, 99)),
          target.pid === undefined ? '—' : (t.proxyCpuUs / t.messages).toFixed(1),
          target.pid === undefined ? '—' : percentOfCore(t.proxyCpuUs, t.wallUs),
          percentOfCore(t.upstreamCpuUs, t.wallUs),
          percentOfCore(t.loaderCpuUs, t.wallUs),
          t.problems.length === 0 ? '0' : t.problems.join('; '),
        ];
      }),
    );
    const idleTable = table(
      ['', 'RSS before, MB', `RSS with ${options.idle} tunnels, MB`, 'KB per tunnel', 'tunnels open at the upstream', 'errors'],
      targets.map((target) => {
        const r = idle.get(target.id)!;
        return [
          target.pid === undefined ? 'the upstream itself (Node + ws, one socket per tunnel)' : target.label,
          (r.beforeKiB * 1.024 / 1000).toFixed(1),
          (r.withKiB * 1.024 / 1000).toFixed(1),
          r.opened === 0 ? '—' : kb((r.withKiB - r.beforeKiB) / r.opened),
          String(r.upstreamOpen),
          r.problems.length === 0 ? '0' : r.problems.join('; '),
        ];
      }),
    );
    const elapsedS = Math.round((Date.now() - startedAt.getTime()) / 1000);
    const version = (command: string) => {
      const result = spawnSync(command, ['-v'], { encoding: 'utf8' });
      return `${result.stdout}\n${result.stderr}`.trim().split('\n')[0]!.trim();
    };
    const summary = {
      startedAt: startedAt.toISOString().replace('T', ' ').slice(0, 19),
      elapsedS,
      edgelb: machine.edgelb,
      nginx: version(NGINX),
      haproxy: version(HAPROXY),
      node: nodeVersion,
      machine: `${machine.nproc} × ${machine.cpuModel}, ${machine.kernel}`,
      load: `${loadAtStart} at the start, ${loadAverage()} at the end`,
    };
    process.stdout.write(`
Run of ${summary.startedAt} UTC, ${elapsedS} s; edgelb ${summary.edgelb}; Node ${summary.node}; ${summary.nginx}; ${summary.haproxy}
${summary.machine}; load average ${summary.load}.

Echo: ${options.clients} tunnels, each a closed loop of ${PAYLOAD_BYTES}-byte text messages, ${options.rounds} × ${options.seconds} s per system (msgs/s: round trips per second over all rounds; CPU: share of one core during the runs):

${echoTable}

Idle: ${options.idle} tunnels, one echo each, then idle; RSS of the process that carries them after ${options.settle} s (MB = 10^6 bytes, KB = 10^3 bytes):

${idleTable}
`);
  };

  boundedRun(main, {
    budgetMs: budgetS * 1000,
    log,
    cleanup: async () => {
      loader?.kill();
      if (runDir) await rm(runDir, { recursive: true, force: true });
    },
  });
}
