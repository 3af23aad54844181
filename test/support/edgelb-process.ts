import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LogLine } from './processes.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const running = new Set<ChildProcess>();

/** Kills every process `spawnEdgelb` started that still runs (a failed test leaves them behind). */
export function killSpawned(): void {
  running.forEach((child) => child.kill('SIGKILL'));
}
process.on('exit', killSpawned);

/** A running `edgelb ARGS` whose JSON log lines and other stderr lines are collected. */
export interface EdgelbProcess {
  readonly process: ChildProcess;
  readonly logs: LogLine[];
  /** stderr lines that are not JSON (the launcher's messages). */
  readonly messages: string[];
  readonly stdout: string[];
  readonly exited: Promise<number | null>;
}

export function spawnEdgelb(args: string[], env: Record<string, string> = {}): EdgelbProcess {
  const child = spawn(process.execPath, [`${root}bin/edgelb.js`, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
  });
  running.add(child);
  const logs: LogLine[] = [];
  const messages: string[] = [];
  const stdout: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as LogLine);
    } catch {
      messages.push(line);
    }
  });
  createInterface({ input: child.stdout! }).on('line', (line) => stdout.push(line));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    running.delete(child);
    resolve(code);
  }));
  return { process: child, logs, messages, stdout, exited };
}

/** Kills a process we did not start (a daemon) if it still runs. */
export function killPid(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
