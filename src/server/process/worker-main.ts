import { describeError } from '../../core/errors.ts';
import { Membership } from '../../core/membership.ts';
import { buildPools } from '../../core/peer.ts';
import { createLogger, flushLogs } from '../logger.ts';
import { serveEdge, type RunningEdge } from '../serve-edge.ts';
import { HealthMirror } from './health-relay.ts';
import type { WorkerReport } from './worker-report.ts';
import { applyPeerEntry, isMessage, LISTEN_FD_BASE, type DrainEntry, type EjectionEntry, type FromWorker, type PeerEntry, type ToWorker } from './messages.ts';

/**
 * A worker process: serves on the listening sockets its primary holds (inherited as fds) with
 * health the primary's prober decides. Signals meant for the whole process group (Ctrl-C) are
 * left to the primary, which tells its workers when to drain.
 */
const log = createLogger();
const send = (message: FromWorker) => process.send?.(message);
let running: RunningEdge | undefined;
let stopping = false;

function exit(code: number): never {
  flushLogs(log);
  process.exit(code);
}

async function drainAndExit(): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (running === undefined) exit(0);
  const { forced } = await running.stop();
  if (forced) log.warn({}, 'grace period over; remaining connections were closed');
  // What this worker counted outlives it in the admin's totals (see Gatherer).
  const report = await running.report();
  if (report !== undefined && process.connected) await new Promise<void>((resolve) => process.send!({ type: 'edgelb:final', report } satisfies FromWorker, () => resolve()));
  exit(0);
}

/** Admin views of every worker: the primary gathers the workers' reports for this one's request. */
const gathering = new Map<number, (reports: readonly WorkerReport[] | 'alone') => void>();
let gatherId = 0;
function gather(): Promise<readonly WorkerReport[] | 'alone'> {
  const id = ++gatherId;
  return new Promise((resolve) => {
    gathering.set(id, resolve);
    send({ type: 'edgelb:gather', id });
  });
}

process.on('uncaughtException', (error) => {
  log.fatal({ error: describeError(error), stack: error.stack }, 'uncaught exception in a worker; exiting');
  exit(1);
});
process.on('unhandledRejection', (reason) => log.error({ error: describeError(reason) }, 'unhandled rejection'));
for (const signal of ['SIGINT', 'SIGQUIT', 'SIGHUP'] as const) process.on(signal, () => {});
process.on('SIGTERM', () => void drainAndExit());
// The primary is gone (killed): finish what is in flight rather than serve on unsupervised.
process.on('disconnect', () => void drainAndExit());

async function reportTo(id: number): Promise<void> {
  const report = await running?.report();
  if (report !== undefined) send({ type: 'edgelb:report', id, report });
}

const onMessage = async (message: unknown) => {
  if (isMessage<Extract<ToWorker, { type: 'edgelb:start' }>>(message, 'edgelb:start')) {
    const { config, health } = message;
    const membership = new Membership(buildPools(config.upstreams));
    // Embedded mode: the primary's prober decides and this worker mirrors, peers that joined at
    // run time included; with redis the worker follows the shared health itself.
    let mirror: HealthMirror | undefined;
    if (config.redis === undefined) {
      for (const entry of message.peers) applyPeerEntry(membership, entry, true);
      mirror = new HealthMirror(membership.pools, health);
      membership.listen(mirror);
    }
    process.on('message', (update: unknown) => {
      if (isMessage<Extract<ToWorker, { type: 'edgelb:health' }>>(update, 'edgelb:health')) mirror?.apply(update.entry);
      else if (isMessage<Extract<ToWorker, { type: 'edgelb:peer' }>>(update, 'edgelb:peer')) applyPeerEntry(membership, update.entry, update.joined);
      else if (isMessage<Extract<ToWorker, { type: 'edgelb:report' }>>(update, 'edgelb:report')) void reportTo(update.id);
      else if (isMessage<Extract<ToWorker, { type: 'edgelb:gathered' }>>(update, 'edgelb:gathered')) {
        gathering.get(update.id)?.(update.reports);
        gathering.delete(update.id);
      }
      else if (isMessage<Extract<ToWorker, { type: 'edgelb:ejected' }>>(update, 'edgelb:ejected')) running?.adoptEjection(update.entry);
      else if (isMessage<Extract<ToWorker, { type: 'edgelb:drained' }>>(update, 'edgelb:drained')) running?.applyDrain(update.entry);
    });
    try {
      const listenFds = config.listen.map((_, index) => LISTEN_FD_BASE + index);
      const adminFd = config.admin === undefined ? undefined : LISTEN_FD_BASE + config.listen.length;
      const announceEjection = (entry: EjectionEntry) => send({ type: 'edgelb:ejected', entry });
      // With redis, drains are in Redis; in embedded mode the primary holds them across reloads.
      const drains = mirror === undefined ? undefined : { held: message.drained, announce: (entry: DrainEntry) => send({ type: 'edgelb:drained', entry }) };
      const peers = mirror === undefined ? undefined : { announce: (entry: PeerEntry, joined: boolean) => send({ type: 'edgelb:peer', entry, joined }) };
      running = await serveEdge(config, log, {
        listenFds, adminFd, membership, mirror, reloads: message.reloads, announceEjection, ejected: message.ejected, drains, peers, gather, startedAt: message.startedAt,
      });
    } catch (error) {
      send({ type: 'edgelb:start-failed', reason: describeError(error) ?? 'unknown error' });
      exit(1);
    }
    if (stopping) return;
    send({ type: 'edgelb:serving' });
  } else if (isMessage<Extract<ToWorker, { type: 'edgelb:stop' }>>(message, 'edgelb:stop')) {
    await drainAndExit();
  }
};
process.on('message', (message: unknown) => void onMessage(message));
