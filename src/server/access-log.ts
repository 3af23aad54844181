import { openSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import pino, { type Logger } from 'pino';
import { describeError } from '../core/errors.ts';
import type { Log } from '../core/log.ts';
import type { Exchange } from '../edge/exchange.ts';
import { clientAddress } from '../edge/headers.ts';
import type { RequestObserver } from '../edge/request-observer.ts';
import { LineBatch } from './line-batch.ts';

/**
 * The access log: one JSON line per request, written through pino to an asynchronous
 * destination (stdout by default, as nginx's container images do, or an appended file), so
 * writing never waits on the disk or the reader. Independent of `LOG_LEVEL`, like nginx's. A
 * file is opened (created, appended to) at start, so a path that cannot be written stops the
 * start with a clear error; rotate it with copy-and-truncate.
 */
const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;

export class AccessLog implements RequestObserver {
  readonly #log: Logger;
  readonly #destination: LineBatch;

  constructor(target: true | string, log: Log) {
    const fd = target === true ? 1 : openFile(target);
    // A reader that stops reading (a stuck pipe, a hung disk) costs lines beyond 16 MiB of backlog,
    // never memory without bound.
    const destination = pino.destination({ dest: fd, sync: false, maxLength: MAX_BACKLOG_BYTES });
    // Lines are written in batches, at least every 200 ms, like nginx's access_log `buffer` and `flush`.
    this.#destination = new LineBatch(destination, 200);
    let failed = false;
    // A full disk or a closed stdout costs access log lines, never the process.
    destination.on('error', (error: unknown) => {
      if (!failed) log.error({ error: describeError(error) }, 'cannot write the access log');
      failed = true;
    });
    let droppingSince = 0;
    destination.on('drop', () => {
      const now = Date.now();
      if (now - droppingSince < 60_000) return;
      droppingSince = now;
      log.warn({ backlogBytes: MAX_BACKLOG_BYTES }, 'the access log cannot be written fast enough; dropping lines');
    });
    this.#log = pino(
      {
        base: undefined,
        // Every line is of one kind: no level field, so the time opens the line (without a comma).
        // It is epoch milliseconds, as in edgelb's other log lines; an ISO date would cost 0.8 us.
        formatters: { level: () => ({}) },
        timestamp: () => `"time":${Date.now()}`,
      },
      this.#destination,
    );
  }

  requestDone(exchange: Exchange): void {
    const incoming = (exchange.context.env as { incoming: IncomingMessage }).incoming;
    const clientRequestId = incoming.headers['x-request-id'];
    this.#log.info({
      requestId: exchange.idFrom(typeof clientRequestId === 'string' ? clientRequestId : undefined),
      client: clientAddress(incoming.socket.remoteAddress),
      method: incoming.method,
      path: incoming.url,
      status: exchange.status,
      bytesIn: exchange.bytesIn,
      bytesOut: exchange.bytesOut,
      route: exchange.route?.name,
      pool: exchange.pool?.name,
      peer: exchange.peer?.id,
      upstreamConnectMs: milliseconds(exchange.upstreamConnectMs),
      upstreamHeaderMs: milliseconds(exchange.upstreamHeaderMs),
      upstreamTotalMs: milliseconds(exchange.upstreamTotalMs),
      durationMs: milliseconds(performance.now() - exchange.startedAt),
      retries: Math.max(0, exchange.attempts - 1),
      failedPeers: exchange.failedPeers?.map((peer) => peer.id),
      error: exchange.error,
      tunnelEnd: exchange.tunnelEnd,
    });
  }

  /** Writes out buffered lines and closes the log; call it before the process exits. */
  close(): Promise<void> {
    return this.#destination.close(2000);
  }
}

function openFile(path: string): number {
  try {
    return openSync(path, 'a');
  } catch (error) {
    throw new Error(`access_log: cannot open "${path}": ${describeError(error)}`);
  }
}

/** Microsecond precision is plenty; -1 (not reached) leaves the field out. */
function milliseconds(value: number): number | undefined {
  return value < 0 ? undefined : Math.round(value * 1000) / 1000;
}
