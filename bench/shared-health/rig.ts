import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { freePorts } from '../rig/ports.ts';
import { startProcess, type Proc } from '../rig/processes.ts';
import { waitUntil } from '../rig/wait.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const dir = mkdtempSync(join(tmpdir(), 'edgelb-bench-shared-'));

export interface LogLine {
  time: number;
  msg: string;
  [field: string]: unknown;
}

/** A started process whose JSON log lines (stderr) are collected as they come. */
export interface Logged {
  readonly proc: Proc;
  readonly logs: LogLine[];
}

export function collectLogs(proc: Proc): Logged {
  const logs: LogLine[] = [];
  createInterface({ input: proc.child.stderr! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as LogLine);
    } catch {
      // Not a log line.
    }
  });
  return { proc, logs };
}

/** redis-server on a free port, without persistence. */
export async function startRedisServer(cpus?: string): Promise<{ proc: Proc; url: string; port: number }> {
  const [port] = await freePorts(1);
  const proc = startProcess('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], cpus ? { cpus } : {});
  await waitUntil('redis-server', () => proc.output().includes('Ready to accept connections'), 10_000);
  return { proc, url: `redis://127.0.0.1:${port}/0`, port: port! };
}

export function writeConfig(name: string, config: Record<string, unknown>): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(config));
  return file;
}

/** `node bin/edgelb.js ARGS` as its own process (the npm scripts' Node). */
export function startEdgelb(name: string, args: string[], options: { cpus?: string; logLevel?: string } = {}): Logged {
  return collectLogs(startProcess(name, process.execPath, [join(root, 'bin/edgelb.js'), ...args], {
    env: { ...process.env, LOG_LEVEL: options.logLevel ?? 'info' },
    ...(options.cpus ? { cpus: options.cpus } : {}),
  }));
}

/** A TCP listener that accepts and closes at once: all a TCP health check needs. */
export async function listener(port = 0, onAccept?: () => void): Promise<net.Server> {
  const server = net.createServer((socket) => {
    onAccept?.();
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}

export function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}
