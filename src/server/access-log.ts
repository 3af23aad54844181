import { openSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import pino from 'pino';
import { describeError } from '../core/errors.ts';
import type { Log } from '../core/log.ts';
import type { Exchange } from '../edge/exchange.ts';
import type { RequestObserver } from '../edge/request-observer.ts';
import { combinedLine, jsonLine, type TimeFormat } from './access-record.ts';
import { LineBatch } from './line-batch.ts';

/**
 * The access log: one line per request (JSON, or nginx's `combined`), written to pino's asynchronous
 * destination (stdout by default, as nginx's container images do, or an appended file), so
 * writing never waits on the disk or the reader. Independent of `LOG_LEVEL`, like nginx's. A
 * file is opened (created, appended to) at start, so a path that cannot be written stops the
 * start with a clear error; rotate it with copy-and-truncate.
 */
const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;

export class AccessLog implements RequestObserver {
  readonly #destination: LineBatch;
  readonly #line: (exchange: Exchange, incoming: IncomingMessage) => string;

  constructor(target: true | string, log: Log, format: 'json' | 'combined' = 'json', time: TimeFormat = 'epoch_ms') {
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
    this.#line = format === 'combined' ? (exchange, incoming) => combinedLine(exchange, incoming, Date.now())
      : (exchange, incoming) => jsonLine(exchange, incoming, time, Date.now());
  }

  requestDone(exchange: Exchange): void {
    const incoming = (exchange.context.env as { incoming: IncomingMessage }).incoming;
    this.#destination.write(`${this.#line(exchange, incoming)}\n`);
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
