import type { Server } from 'node:net';
import type { Log } from '../../core/log.ts';

/**
 * Node's listening handle. Its `onconnection` runs for each socket libuv accepted, before Node
 * wraps it in a `net.Socket` and starts reading; node:cluster replaces it the same way. Node has
 * no public way to stop accepting for a while, and its `maxConnections` closes the extra sockets,
 * which the client sees as a reset.
 */
interface ListeningHandle {
  onconnection: (this: ListeningHandle, status: number, clientHandle?: { close(): void }) => void;
}

/**
 * Sockets a full worker holds unread, like a listen backlog (Node's default backlog is 511):
 * past it a new connection is closed, since each one held costs a file descriptor.
 */
export const MAX_WAITING = 511;
/** At most one warning per this long while the worker is full, so a flood cannot flood the log. */
const WARN_EVERY_MS = 10_000;

/**
 * `limits.max_connections` for one worker, across all its listeners. Past the limit a new
 * connection waits, accepted but not read, until an open one closes: its client sees a slow
 * server, not a reset, and no timer runs for it yet (its header timeout starts when it is let
 * in), as it would be in the kernel's accept queue. That takes a file descriptor per waiting
 * connection, so at most `MAX_WAITING` wait.
 */
export class ConnectionGate {
  readonly #max: number;
  readonly #log: Log;
  readonly #waiting: (() => void)[] = [];
  #open = 0;
  #closing = false;
  #warnedAt = -Infinity;

  constructor(max: number, log: Log) {
    this.#max = max;
    this.#log = log;
  }

  /** Puts a listening server behind the gate; call once it listens. */
  guard(server: Server): void {
    const handle = (server as unknown as { _handle?: ListeningHandle | null })._handle;
    if (typeof handle?.onconnection !== 'function') throw new Error('limits.max_connections: this Node version has no listening handle to guard');
    const accept = handle.onconnection;
    handle.onconnection = (status, clientHandle) => {
      if (status < 0 || clientHandle === undefined || this.#closing || this.#open < this.#max) return accept.call(handle, status, clientHandle);
      this.#warn();
      if (this.#waiting.length >= MAX_WAITING) return clientHandle.close();
      this.#waiting.push(() => accept.call(handle, status, clientHandle));
    };
    server.on('connection', (socket: NodeJS.EventEmitter) => {
      this.#open += 1;
      socket.once('close', () => {
        this.#open -= 1;
        if (this.#open < this.#max) this.#waiting.shift()?.();
      });
    });
  }

  /**
   * Lets every waiting connection in and stops holding new ones: a closing listener serves what
   * it accepted (those clients sent their requests to this process), and must do so before the
   * server closes, or the server would count them after it had reported itself drained.
   */
  openAll(): void {
    this.#closing = true;
    for (const admit of this.#waiting.splice(0)) admit();
  }

  #warn(): void {
    const now = performance.now();
    if (now - this.#warnedAt < WARN_EVERY_MS) return;
    this.#warnedAt = now;
    this.#log.warn({ max_connections: this.#max, waiting: this.#waiting.length }, 'limits.max_connections reached: new connections wait');
  }
}
