import type { Logger } from 'pino';
import type { Config } from '../../core/config.ts';
import { formatAddress } from '../../core/address.ts';
import { describeError } from '../../core/errors.ts';
import { flushLogs } from '../logger.ts';
import { startGeneration, type Generation } from './generation.ts';
import { HeldDrains } from './held-drains.ts';
import { HeldPeers } from './held-peers.ts';
import { HeldEjections } from './held-ejections.ts';
import { Gatherer } from './gatherer.ts';
import type { HeldState } from './messages.ts';
import { handOverListeners } from './upgrade-hand-over.ts';
import type { ListenSocket } from './listen-sockets.ts';
import { removePidFileIfOurs, writePidFile } from './pid-file.ts';
import { reloadedConfig } from './reload.ts';

export interface PrimaryOptions {
  readonly config: Config;
  readonly configFile: string;
  readonly sockets: readonly ListenSocket[];
  readonly log: Logger;
  /** Written once serving (daemon mode, and a new build taking over), removed at exit if still ours. */
  readonly pidFile?: string | undefined;
  /** What the process this one took over from held for its operators (graceful upgrade). */
  readonly held?: HeldState | undefined;
  /** Called once the workers serve: the daemon launcher and the old build wait for this. */
  readonly onServing?: (listen: string[]) => void;
}

/**
 * The primary: holds the listening sockets, runs the prober, and keeps `threads` workers
 * serving. Signals: SIGTERM/SIGINT graceful stop, SIGQUIT graceful upgrade (hand the sockets to
 * a new build waiting on `upgrade_sock`, then drain), SIGHUP config reload. Resolves with the
 * exit code; rejects if it cannot start.
 */
export async function runPrimary(options: PrimaryOptions): Promise<number> {
  const { configFile, sockets, log, pidFile } = options;
  let generation: Generation;
  const held = {
    drains: new HeldDrains(options.held?.drains), peers: new HeldPeers(options.held?.peers), ejections: new HeldEjections(options.held?.ejected), gatherer: new Gatherer(), startedAt: Date.now(),
  };
  try {
    generation = await startGeneration(options.config, sockets, log, held);
  } catch (error) {
    for (const socket of sockets) socket.close();
    throw error;
  }
  const listen = sockets.slice(0, options.config.listen.length).map((socket) => formatAddress(socket.address));
  const adminSocket = options.config.admin === undefined ? undefined : sockets[options.config.listen.length];
  const admin = adminSocket === undefined ? undefined : formatAddress(adminSocket.address);
  log.info({ listen, admin, workers: generation.workers.pids(), pools: poolPeers(generation.config) }, 'edgelb is serving');
  if (pidFile !== undefined) writePidFile(pidFile);
  options.onServing?.(listen);

  return new Promise<number>((resolve) => {
    let stopping = false;
    let upgrading = false;
    let finishing = false;
    let busy: Promise<void> = Promise.resolve();
    let reloads = 0;

    const finish = async () => {
      if (finishing) return;
      finishing = true;
      await busy;
      await generation.drain();
      if (pidFile !== undefined) removePidFileIfOurs(pidFile);
      log.info({}, 'stopped');
      flushLogs(log);
      resolve(0);
    };
    // The handlers stay installed: a second signal (Ctrl-C reaches a whole process group, and
    // supervisors often repeat SIGTERM) must not fall back to Node's default of dying at once.
    const shutdown = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.info({ signal }, 'already shutting down gracefully');
        return;
      }
      stopping = true;
      log.info({ signal, gracePeriodSeconds: generation.config.grace_period_seconds }, 'shutting down gracefully');
      for (const socket of sockets) socket.close();
      void finish();
    };
    const upgrade = () => {
      if (stopping || upgrading) return;
      upgrading = true;
      log.info({ signal: 'SIGQUIT', upgradeSock: generation.config.upgrade_sock }, 'graceful upgrade: waiting for the new process');
      busy = busy.then(async () => {
        // A SIGTERM while waiting for the new process ends the wait: this becomes a plain shutdown.
        if (await handOverListeners(sockets, generation.config.upgrade_sock, log, () => stopping, () => ({ drains: held.drains.entries(), peers: held.peers.entries(), ejected: held.ejections.entries() }))) {
          log.info({}, 'the new process serves on the listening sockets; draining');
          // Its copies keep the sockets open: closing ours only stops this process accepting.
          stopping = true;
          for (const socket of sockets) socket.close();
          void finish();
        }
        upgrading = false;
      });
    };
    const reload = () => {
      if (stopping || upgrading) return;
      busy = busy.then(async () => {
        log.info({ signal: 'SIGHUP', configFile }, 'reloading the configuration');
        const next = await reloadedConfig(configFile, generation.config, log);
        if (next === undefined || stopping) return;
        try {
          const previous = generation;
          generation = await startGeneration(next, sockets, log, held, reloads + 1);
          reloads++;
          await previous.drain();
          log.info({ workers: generation.workers.pids(), pools: poolPeers(next) }, 'configuration reloaded');
        } catch (error) {
          log.error({ error: describeError(error) }, 'the new configuration cannot start; keeping the running one');
        }
      });
    };
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, shutdown);
    process.on('SIGQUIT', upgrade);
    process.on('SIGHUP', reload);
  });
}

function poolPeers(config: Config): Record<string, string[]> {
  return Object.fromEntries(Object.entries(config.upstreams).map(([name, pool]) => [name, pool.peers.map(formatAddress)]));
}
