import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { waitFor } from './wait-for.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const running = new Set<ChildProcess>();

/** Kills whatever a test left running, e.g. after a failed assertion. */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}
process.on('exit', killAll);
// An interrupted run must not leave upstreams and balancers behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.kill(process.pid, signal);
  });
}

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

export interface Upstream {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  readonly process: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** From now on the echo upstream answers its echo with `status` after `delayMs`. */
  behave(status: number, delayMs?: number): Promise<void>;
  /** The echo upstream's counters (see test/fixtures/echo-upstream.ts). */
  stats(): Promise<{ abandoned: number; slowPending: number; downloadBytesSent: number; connections: number; peakConnections: number; requests: number }>;
}

/** Starts the echo upstream as its own process; `port` 0 picks a free one; `host` is its loopback address. */
export function startUpstream(name: string, port = 0, host = '127.0.0.1'): Promise<Upstream> {
  return startFixture('echo-upstream.ts', name, port, host);
}

/** Starts the WebSocket upstream (test/fixtures/ws-upstream.ts); its `stats` are its tunnel counts. */
export function startWsUpstream(name: string, port = 0): Promise<Omit<Upstream, 'stats' | 'behave'> & { stats(): Promise<{ open: number; opened: number }> }> {
  return startFixture('ws-upstream.ts', name, port) as never;
}

async function startFixture(fixture: string, name: string, port: number, host = '127.0.0.1'): Promise<Upstream> {
  const hostArgs = host === '127.0.0.1' ? [] : ['--host', host];
  const child = track(spawn(process.execPath, [join(root, 'test/fixtures', fixture), '--name', name, '--port', String(port), ...hostArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  }));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`upstream ${name} exited with ${code}`)));
  });
  const bound = (JSON.parse(line) as { port: number }).port;
  return {
    name,
    port: bound,
    address: `${host}:${bound}`,
    process: child,
    kill: (signal = 'SIGKILL') => stop(child, signal),
    stats: async () => (await fetch(`http://${host}:${bound}/stats`)).json() as never,
    behave: async (status, delayMs = 0) => void await (await fetch(`http://${host}:${bound}/behave?status=${status}&delay=${delayMs}`)).text(),
  };
}

function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

export interface LogLine {
  level: number;
  time: number;
  msg: string;
  [field: string]: unknown;
}

export interface Edgelb {
  readonly process: ChildProcess;
  readonly port: number;
  readonly url: string;
  readonly logs: LogLine[];
  readonly configFile: string;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Writes `config` (with a listener on a free port unless it names one) and runs `edgelb -c`. */
export async function startEdgelb(config: Record<string, unknown>, env: Record<string, string> = {}): Promise<Edgelb> {
  const started = await startEdgelbCommand([], { listen: ['127.0.0.1:0'], ...config }, 'edgelb is serving', env);
  const port = Number((started.ready.listen as string[])[0]!.split(':').pop());
  return { ...started, port, url: `http://127.0.0.1:${port}` };
}

/** Writes `config` and runs `edgelb COMMAND... -c FILE` until it logs `readyMessage`. */
export async function startEdgelbCommand(
  command: string[],
  config: Record<string, unknown>,
  readyMessage: string,
  env: Record<string, string> = {},
): Promise<Omit<Edgelb, 'port' | 'url'> & { ready: LogLine }> {
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-test-'));
  const configFile = join(dir, 'edgelb.yaml');
  writeFileSync(configFile, stringify(config));
  const child = track(spawn(process.execPath, [join(root, 'bin/edgelb.js'), ...command, '-c', configFile], {
    // stdout carries the access log, one line per request: noise in the test report.
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'debug', ...env },
  }));
  const logs: LogLine[] = [];
  const other: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as LogLine);
    } catch {
      other.push(line);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await Promise.race([
    waitFor(`edgelb to log "${readyMessage}"`, () => logs.find((line) => line.msg === readyMessage), { timeoutMs: 15_000 }),
    exited.then((code) => Promise.reject(new Error(`edgelb exited with ${code}: ${other.join('\n')}`))),
  ]);
  return {
    process: child,
    ready,
    logs,
    configFile,
    exited,
    kill: (signal = 'SIGKILL') => stop(child, signal),
  };
}

/** Runs `edgelb ARGS` to completion and returns its exit code and output. */
export function runEdgelb(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = track(spawn(process.execPath, [join(root, 'bin/edgelb.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** Reads a process's peak resident set size (VmHWM) in bytes from /proc. */
export async function peakRss(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb) * 1024;
}
