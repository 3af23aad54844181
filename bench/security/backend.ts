import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What one backend saw: the proof of whether a proxy forwarded anything. */
export interface BackendCounts {
  /** TCP connections accepted (a proxy's health checks included). */
  readonly connections: number;
  /** Requests Node's parser turned into a request. */
  readonly requests: number;
  /** Connections whose bytes did not parse as HTTP: something reached the backend all the same. */
  readonly malformed: number;
}

/** One request as it arrived, for "which path did the backend get?". */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: readonly string[];
}

/** How long `/slow` takes to answer. */
const SLOW_MS = 2_000;

/**
 * A backend for the probes, one per proxy so each proxy's traffic is counted apart. It counts
 * connections and requests, and the peak of connections open at once that carried a request
 * (a proxy's TCP health checks open connections that carry none, and must not count as fan-out).
 * Paths: `/slow` answers after 2 s with `slow#ID` (ID from `?i=`, so order can be checked),
 * `/overflow` sends a response whose chunk size overflows 64 bits (`?split`: after its head),
 * anything else answers `ok`.
 */
export class Backend {
  readonly #server: Server;
  #connections = 0;
  #requests = 0;
  #malformed = 0;
  /** Connections that carried a request since `resetPeak` and are still open. */
  readonly #carrying = new Set<Socket>();
  #peakCarrying = 0;
  #inFlight = 0;
  #peakInFlight = 0;
  readonly #seen: SeenRequest[] = [];

  private constructor() {
    // The backend accepts what a lenient server would, so a forwarded oddity shows up as a request
    // instead of vanishing in Node's own 400: lenient parsing, no Host required, large heads.
    this.#server = createServer({ insecureHTTPParser: true, requireHostHeader: false, maxHeaderSize: 64 * 1024, keepAliveTimeout: 60_000 }, (req, res) => this.#serve(req, res));
    this.#server.on('connection', (socket: Socket) => {
      this.#connections++;
      socket.once('close', () => this.#carrying.delete(socket));
    });
    this.#server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      // Parse errors only: a proxy resetting an idle connection is a clientError too.
      if (error.code?.startsWith('HPE_')) this.#malformed++;
      socket.destroy();
    });
  }

  static async start(): Promise<Backend> {
    const backend = new Backend();
    await new Promise<void>((resolve) => backend.#server.listen(0, '127.0.0.1', resolve));
    return backend;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  counts(): BackendCounts {
    return { connections: this.#connections, requests: this.#requests, malformed: this.#malformed };
  }

  /** Requests that arrived since `counts` was taken. */
  requestsSince(before: BackendCounts): SeenRequest[] {
    return this.#seen.slice(before.requests);
  }

  /** Starts a new peak of request-carrying connections, for one probe. */
  resetPeak(): void {
    this.#carrying.clear();
    this.#peakCarrying = 0;
    this.#peakInFlight = this.#inFlight;
  }

  /** The most connections open at once that carried a request since `resetPeak` (older idle ones do not count). */
  get peakConnections(): number {
    return this.#peakCarrying;
  }

  /** The most requests being answered at once, since `resetPeak`. */
  get peakInFlight(): number {
    return this.#peakInFlight;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    this.#requests++;
    this.#seen.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders });
    this.#carrying.add(req.socket);
    this.#peakCarrying = Math.max(this.#peakCarrying, this.#carrying.size);
    this.#peakInFlight = Math.max(this.#peakInFlight, ++this.#inFlight);
    res.once('close', () => this.#inFlight--);
    // A request body is read to its end before answering, so the connection stays reusable.
    req.resume();
    const url = req.url ?? '/';
    if (url.startsWith('/slow')) {
      const id = /[?&]i=(\d+)/.exec(url)?.[1] ?? '-';
      const timer = setTimeout(() => res.end(`slow#${id}\n`), SLOW_MS);
      res.once('close', () => clearTimeout(timer));
      return;
    }
    if (url.startsWith('/overflow')) {
      // Written on the socket itself: Node would never produce this. 18 hex digits overflow any
      // 64-bit chunk size; a parser that wraps around would read a small size instead.
      // `?split`: the head first and the bad chunk 200 ms later, as a streaming peer would send
      // them, so a proxy has passed the head on before it meets the chunk.
      const socket = req.socket;
      const head = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n';
      const chunk = 'ffffffffffffffffff\r\nhello\r\n0\r\n\r\n';
      if (url.includes('split')) {
        socket.write(head);
        setTimeout(() => socket.writable && socket.write(chunk), 200).unref();
      } else socket.write(head + chunk);
      // Held open a moment so that what the proxy does comes from the parse, not from an EOF.
      setTimeout(() => socket.destroy(), 2_000).unref();
      return;
    }
    res.end('ok\n');
  }
}
