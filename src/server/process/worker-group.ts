import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import type { Config } from '../../core/config.ts';
import { entryFile } from './entry-file.ts';
import type { ListenSocket } from './listen-sockets.ts';
import { isMessage, type FromWorker, type HealthEntry, type PeerEntry, type ToWorker } from './messages.ts';
import type { Gatherer } from './gatherer.ts';
import type { HeldDrains } from './held-drains.ts';
import type { HeldEjections } from './held-ejections.ts';
import { RespawnBackoff } from './respawn-backoff.ts';
import { workerExecArgv } from './worker-runtime.ts';

/** How long a worker may take from fork to serving. */
const START_TIMEOUT_MS = 30_000;
/** After the grace period, how long a draining worker gets before it is killed. */
const KILL_MARGIN_MS = 2_000;

/**
 * One generation of `threads` worker processes serving one config on the primary's listening
 * sockets (inherited as fds, so the primary never accepts on them). A worker that dies is
 * replaced, with a growing delay if it keeps dying; a reload starts a new generation and drains
 * this one.
 */
export interface WorkerGroupOptions {
  readonly config: Config;
  readonly sockets: readonly ListenSocket[];
  readonly log: Logger;
  /** What a starting worker is told: the health decided so far, and the peers that joined at run time. */
  health(): readonly HealthEntry[];
  peers(): readonly PeerEntry[];
  readonly drains: HeldDrains;
  readonly ejections: HeldEjections;
  /** Every worker's report for an admin view, across generations. */
  readonly gatherer: Gatherer;
  /** A peer added or removed through a worker's admin listener (embedded mode). */
  peerChanged(entry: PeerEntry, joined: boolean): void;
  /** Configuration reloads before this generation. */
  readonly reloads: number;
  /** When the primary started. */
  readonly startedAt: number;
}

export class WorkerGroup {
  readonly #config: Config;
  readonly #sockets: readonly ListenSocket[];
  readonly #log: Logger;
  readonly #options: WorkerGroupOptions;
  readonly #workers = new Set<ChildProcess>();
  readonly #backoff = new RespawnBackoff();
  #draining = false;

  constructor(options: WorkerGroupOptions) {
    this.#options = options;
    this.#config = options.config;
    this.#sockets = options.sockets;
    this.#log = options.log;
  }

  /** Starts every worker; resolves once all serve, rejects (stopping them) if one cannot. */
  async start(): Promise<void> {
    try {
      await Promise.all(Array.from({ length: this.#config.threads }, () => this.#spawn()));
    } catch (error) {
      this.#draining = true;
      for (const worker of this.#workers) worker.kill('SIGKILL');
      throw error;
    }
  }

  pids(): number[] {
    return [...this.#workers].flatMap((worker) => (worker.pid === undefined ? [] : [worker.pid]));
  }

  broadcast(message: ToWorker): void {
    for (const worker of this.#workers) if (worker.connected) worker.send(message);
  }

  /** Tells every worker to drain; resolves once all have exited (killing them past the grace period). */
  async drain(): Promise<void> {
    this.#draining = true;
    const exits = [...this.#workers].map((worker) => new Promise<void>((resolve) => {
      if (worker.exitCode !== null || worker.signalCode !== null) return resolve();
      worker.once('exit', () => resolve());
      const kill = setTimeout(() => worker.kill('SIGKILL'), this.#config.grace_period_seconds * 1000 + KILL_MARGIN_MS);
      kill.unref();
      worker.once('exit', () => clearTimeout(kill));
    }));
    this.broadcast({ type: 'edgelb:stop' });
    await Promise.all(exits);
  }

  #toOthers(sender: ChildProcess, message: ToWorker): void {
    for (const other of this.#workers) if (other !== sender && other.connected) other.send(message);
  }

  #spawn(): Promise<void> {
    const worker = fork(entryFile('worker-main'), [], {
      execArgv: workerExecArgv(process.execArgv, process.env),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...this.#sockets.map((socket) => socket.fd)],
    });
    this.#workers.add(worker);
    const { gatherer } = this.#options;
    gatherer.add(worker);
    const startedAt = performance.now();
    const serving = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`a worker did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      worker.on('message', (message: unknown) => {
        if (isMessage<FromWorker>(message, 'edgelb:serving')) {
          clearTimeout(timer);
          resolve();
        } else if (isMessage<Extract<FromWorker, { type: 'edgelb:start-failed' }>>(message, 'edgelb:start-failed')) {
          clearTimeout(timer);
          reject(new Error(message.reason));
        } else if (isMessage<Extract<FromWorker, { type: 'edgelb:ejected' }>>(message, 'edgelb:ejected')) {
          // Ejections are the edge's, not one worker's: the others take the peer out too.
          this.#options.ejections.apply(message.entry);
          this.#toOthers(worker, { type: 'edgelb:ejected', entry: message.entry });
        } else if (isMessage<Extract<FromWorker, { type: 'edgelb:drained' }>>(message, 'edgelb:drained')) {
          this.#options.drains.apply(message.entry);
          this.#toOthers(worker, { type: 'edgelb:drained', entry: message.entry });
        } else if (isMessage<Extract<FromWorker, { type: 'edgelb:peer' }>>(message, 'edgelb:peer')) {
          this.#options.peerChanged(message.entry, message.joined);
        } else if (isMessage<Extract<FromWorker, { type: 'edgelb:gather' }>>(message, 'edgelb:gather')) {
          void (async () => {
            const reports = (await gatherer.alone(worker)) ? 'alone' : await gatherer.gather();
            if (worker.connected) worker.send({ type: 'edgelb:gathered', id: message.id, reports } satisfies ToWorker);
          })();
        } else if (isMessage<Extract<FromWorker, { type: 'edgelb:report' }>>(message, 'edgelb:report')) {
          gatherer.reported(worker, message.id, message.report);
        } else if (isMessage<Extract<FromWorker, { type: 'edgelb:final' }>>(message, 'edgelb:final')) {
          gatherer.retire(worker, message.report);
        }
      });
      worker.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`a worker exited while starting (${signal ?? `code ${code}`})`));
      });
    });
    worker.once('exit', (code, signal) => {
      this.#workers.delete(worker);
      if (this.#draining) return;
      const delayMs = this.#backoff.next(performance.now() - startedAt);
      this.#log.error({ worker: worker.pid, code, signal, restartInMs: Math.round(delayMs) }, 'worker exited; starting a replacement');
      setTimeout(() => {
        if (this.#draining) return;
        this.#spawn().then(
          () => this.#log.info({ worker: this.pids() }, 'replacement worker serving'),
          (error: unknown) => this.#log.error({ error: String(error) }, 'replacement worker failed to start'),
        );
      }, delayMs);
    });
    const { health, peers, drains, ejections, reloads } = this.#options;
    worker.send({
      type: 'edgelb:start', config: this.#config, health: health(), drained: drains.entries(), peers: peers(), ejected: ejections.entries(), reloads,
      startedAt: this.#options.startedAt,
    } satisfies ToWorker);
    return serving;
  }
}
