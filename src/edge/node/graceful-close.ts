import { Server as HttpServer } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import { Server as NetServer } from 'node:net';

/**
 * How long an idle keep-alive connection may still send a request once a drain began. That
 * request is answered with `Connection: close`; closing the connection earlier would reset a
 * request the client had already sent on it (the keep-alive race), which a client sees as a
 * failure. Connections still idle after this are truly idle and are closed.
 */
export const IDLE_GRACE_MS = 500;
const SWEEP_INTERVAL_MS = 50;

interface Closable {
  close(callback?: (error?: Error) => void): unknown;
  closeIdleConnections?(): void;
}

/**
 * Stops accepting; `done` runs once every connection has ended. Node's HTTP/1 `close` (plain and
 * over TLS) also drops idle keep-alive connections at once, so for those servers only the
 * listening part is closed here and idle connections are left to `sweepIdleConnectionsAfterGrace`. Other servers (HTTP/2
 * sends GOAWAY on close) close their own way.
 */
export function stopAccepting(server: Closable, done: () => void): void {
  if (server instanceof HttpServer || server instanceof HttpsServer) NetServer.prototype.close.call(server, () => done());
  else server.close(() => done());
}

/** Closes idle keep-alive connections from `IDLE_GRACE_MS` on, until stopped. */
export function sweepIdleConnectionsAfterGrace(servers: readonly Closable[]): { stop(): void } {
  let interval: NodeJS.Timeout | undefined;
  const sweep = () => servers.forEach((server) => server.closeIdleConnections?.());
  const start = setTimeout(() => {
    sweep();
    interval = setInterval(sweep, SWEEP_INTERVAL_MS);
  }, IDLE_GRACE_MS);
  return {
    stop() {
      clearTimeout(start);
      clearInterval(interval);
    },
  };
}
