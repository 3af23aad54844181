import { connect, type Socket } from 'node:net';

/** What came back on one raw connection. */
export interface RawReply {
  readonly reply: string;
  /** Whether the server closed (or reset) the connection before the probe gave up. */
  readonly closedByServer: boolean;
  readonly ms: number;
}

/**
 * Sends `text` on a fresh TCP connection to 127.0.0.1:`port` and collects the answer until the
 * server closes, until `quietMs` pass without a byte once something arrived (a kept-alive
 * connection after a whole answer), or until `capMs`: a proxy that waits for more is not waited for.
 */
export function exchange(port: number, text: string | Buffer, { capMs = 5_000, quietMs = 500 } = {}): Promise<RawReply> {
  return collect(port, capMs, (socket, settle) => {
    let quiet: NodeJS.Timeout | undefined;
    socket.on('data', () => {
      clearTimeout(quiet);
      quiet = setTimeout(() => settle(false), quietMs);
    });
    socket.once('close', () => clearTimeout(quiet));
    socket.write(text);
  });
}

/**
 * A slow client: sends `first`, then `drip` every `dripMs`, until the server closes the
 * connection or `capMs` has passed (then the probe closes it and reports it still open).
 */
export function hold(port: number, { first = '', drip, dripMs = 2_000, capMs }: { first?: string; drip?: string; dripMs?: number; capMs: number }): Promise<RawReply> {
  return collect(port, capMs, (socket) => {
    if (first) socket.write(first);
    if (drip === undefined) return;
    const timer = setInterval(() => socket.writable && socket.write(drip), dripMs);
    socket.once('close', () => clearInterval(timer));
  });
}

function collect(port: number, capMs: number, drive: (socket: Socket, settle: (closedByServer: boolean) => void) => void): Promise<RawReply> {
  return new Promise((resolve) => {
    const started = performance.now();
    let reply = '';
    let done = false;
    const socket = connect(port, '127.0.0.1');
    const settle = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(cap);
      socket.destroy();
      resolve({ reply, closedByServer, ms: performance.now() - started });
    };
    const cap = setTimeout(() => settle(false), capMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (reply += chunk));
    // A reset is the server closing too; the error itself tells nothing more.
    socket.on('error', () => {});
    socket.once('close', () => settle(true));
    socket.once('connect', () => drive(socket, settle));
  });
}

/** The status code of the first response in `reply`, if it starts with a status line. */
export function statusOf(reply: string): number | undefined {
  const match = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(reply);
  return match ? Number(match[1]) : undefined;
}

/** A short description of what a client got: `400`, `200 (HTTP/0.9-style: no status line)`, ... */
export function outcomeOf({ reply, closedByServer, ms }: RawReply): string {
  const status = statusOf(reply);
  if (status !== undefined) return String(status);
  if (reply.length > 0) return `no status line (${reply.length} bytes of body)`;
  return closedByServer ? 'closed without answer' : `no answer in ${(ms / 1000).toFixed(0)} s`;
}
