import { spawn, type ChildProcess } from 'node:child_process';

/** A child process started by the rig, in its own process group. */
export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  isAlive(): boolean;
  /** The last few KiB of stdout+stderr, for error messages. */
  output(): string;
}

export interface StartOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Pin the process (and everything it forks) to these CPUs via taskset. */
  cpus?: string;
}

const OUTPUT_TAIL_BYTES = 8192;
const running = new Set<Proc>();
let closed = false;

export function startProcess(name: string, command: string, args: string[], options: StartOptions = {}): Proc {
  // Once shutdown has begun, a late start would escape the cleanup.
  if (closed) throw new Error(`${name}: not started, the rig is shutting down`);
  const [file, argv] = options.cpus === undefined ? [command, args] : ['taskset', ['-c', options.cpus, command, ...args]];
  // A separate process group lets us kill nginx's master and worker together,
  // and keeps a Ctrl-C in the terminal from racing our own orderly shutdown.
  const child = spawn(file, argv, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) {
    // The failure is also emitted as an 'error' event; unhandled, it would crash the run.
    child.once('error', () => {});
    throw new Error(`${name}: could not spawn ${file}`);
  }

  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
  };
  // Always drain the pipes: a chatty child would otherwise block on a full pipe mid-benchmark.
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let alive = true;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      alive = false;
      running.delete(proc);
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (err) => {
      keep(Buffer.from(`spawn error: ${err.message}\n`));
      alive = false;
      running.delete(proc);
      resolve('spawn-error');
    });
  });

  const proc: Proc = {
    name,
    pid: child.pid,
    child,
    exited,
    isAlive: () => alive,
    output: () => tail,
  };
  running.add(proc);
  return proc;
}

function signalGroup(proc: Proc, signal: NodeJS.Signals): void {
  try {
    process.kill(-proc.pid, signal);
  } catch {
    // Already gone.
  }
}

/** SIGTERM the process group, then SIGKILL it if it has not exited after graceMs. */
export async function stopProcess(proc: Proc, graceMs = 3000): Promise<void> {
  if (!proc.isAlive()) return;
  signalGroup(proc, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const outcome = await Promise.race([proc.exited, timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    signalGroup(proc, 'SIGKILL');
    await proc.exited;
  }
}

export async function stopAllProcesses(): Promise<void> {
  closed = true;
  await Promise.all([...running].map((proc) => stopProcess(proc)));
}

/** Synchronous last resort for the 'exit' event, where no more awaiting is possible. */
export function killAllProcessesNow(): void {
  for (const proc of running) signalGroup(proc, 'SIGKILL');
}
