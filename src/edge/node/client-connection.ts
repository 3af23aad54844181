import type { EventEmitter } from 'node:events';

/** A request running on behalf of a client, which must stop when the client goes away. */
export interface ClientRequest {
  start(): void;
  abort(reason: Error): void;
}

/** What a client connection is: a socket (HTTP/1) or an HTTP/2 stream, which can be paused. */
type ClientSide = EventEmitter & { pause?(): unknown; resume?(): unknown };

const CLIENT_GONE = Object.freeze(new Error('the client closed the connection'));

/**
 * The requests of one client connection (or HTTP/2 stream). Node's HTTP/1 server hands over
 * every pipelined request it parses at once; forwarding them all at once would let one
 * connection carrying thousands of requests open as many upstream connections. So they run one
 * after another, as nginx and HAProxy serve them: the next starts when the one before has ended,
 * and while requests wait the socket is not read, which bounds how many can pile up to what one
 * read brought. One `close` listener per connection aborts what runs and what waits (each is
 * recorded as ended by a gone client), which costs far less than a listener or an
 * AbortController per request.
 */
export class ClientConnection {
  readonly #side: ClientSide;
  #running: ClientRequest | undefined;
  readonly #waiting: ClientRequest[] = [];
  #closed = false;
  /** Whether this (not Node's own flow control) stopped reading the socket. */
  #paused = false;

  private constructor(side: ClientSide) {
    this.#side = side;
    side.once('close', () => {
      this.#closed = true;
      const gone = [this.#running, ...this.#waiting];
      this.#running = undefined;
      this.#waiting.length = 0;
      for (const request of gone) request?.abort(CLIENT_GONE);
    });
  }

  static of(side: EventEmitter): ClientConnection {
    let connection = connections.get(side);
    if (connection === undefined) connections.set(side, (connection = new ClientConnection(side)));
    return connection;
  }

  /** Starts `request` now, or once the requests before it on this connection have ended. */
  submit(request: ClientRequest): void {
    if (this.#closed) return request.abort(CLIENT_GONE);
    if (this.#running === undefined) {
      this.#running = request;
      request.start();
      return;
    }
    this.#waiting.push(request);
    // Again for each one: Node's own flow control may have resumed the socket meanwhile.
    this.#paused = true;
    this.#side.pause?.();
  }

  /** `request` is over: the next waiting one starts. */
  ended(request: ClientRequest): void {
    if (this.#running !== request) return;
    const next = this.#waiting.shift();
    this.#running = next;
    if (next !== undefined) next.start();
    else if (this.#paused) {
      this.#paused = false;
      if (!this.#closed) this.#side.resume?.();
    }
  }
}

const connections = new WeakMap<EventEmitter, ClientConnection>();
