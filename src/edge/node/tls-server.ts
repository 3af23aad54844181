import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Log } from '../../core/log.ts';
import type { ServerCertificates } from './server-certificates.ts';

export type AnyRequestListener = (
  incoming: IncomingMessage | Http2ServerRequest,
  outgoing: ServerResponse | Http2ServerResponse,
) => unknown;

/** Node's limits of HTTP/1.1 requests (see `httpServerLimits`). */
export interface HttpServerLimits {
  readonly requestTimeout: number;
  readonly headersTimeout: number;
  readonly connectionsCheckingInterval: number;
  readonly keepAliveTimeout: number;
  readonly maxHeaderSize: number;
}

/** A TLS listener's limits: HTTP/1.1's, the handshake's, and HTTP/2's header count. */
export interface TlsServerLimits extends HttpServerLimits {
  readonly handshakeTimeout: number;
  /** Header fields an HTTP/2 request may carry, pseudo-headers included. */
  readonly maxHeaderListPairs: number;
}

/** Streams one HTTP/2 client may have open at once (nginx allows 128; Node alone, unbounded). */
const MAX_CONCURRENT_STREAMS = 128;

const OPEN_SOCKETS = Symbol('edgelb.openSockets');
/** An HTTP/2 server with HTTP/1.1 allowed also has the idle timeout and sweep of an HTTP/1.1 one. */
export type Http2Listener = Http2SecureServer & { timeout: number; requestTimeout: number; closeIdleConnections(): void };
type TrackedServer = Http2Listener & { [OPEN_SOCKETS]?: Set<TLSSocket> };

/**
 * A TLS listener's server: HTTPS, or with `h2` HTTP/2 offered by ALPN next to HTTP/1.1 on the
 * same port, both handed to the same request listener. The certificate comes from SNI; a reloaded
 * default certificate replaces the server's own context, which clients without SNI get.
 */
export function createTlsServer(
  certificates: ServerCertificates, h2: boolean, listener: AnyRequestListener, limits: TlsServerLimits, log: Log,
): HttpsServer | Http2Listener {
  // The HTTP/1.1 limits apply to HTTP/1.1 over TLS, and on an h2 listener to its HTTP/1.1 fallback.
  const { maxHeaderListPairs, ...http1 } = limits;
  const options = { ...certificates.defaultOptions(), SNICallback: certificates.sniCallback, ...http1 };
  const server = h2
    ? createSecureServer({
      ...options,
      allowHTTP1: true,
      maxHeaderListPairs,
      // enableConnectProtocol: WebSockets over HTTP/2 (RFC 8441), else browsers open an HTTP/1.1 connection for them.
      settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS, maxHeaderListSize: limits.maxHeaderSize, enableConnectProtocol: true },
    }, listener)
    : createHttpsServer({ ...options, ALPNProtocols: ['http/1.1'] }, listener);
  certificates.onDefaultChange((defaults) => server.setSecureContext(defaults));
  // Node hands a failed handshake (including its timeout) on to `clientError`, whose answer is an
  // HTTP reply: on a socket whose handshake never finished, ending it that way waits for ever,
  // so a client that sends nothing would hold the connection. Such a socket is simply closed.
  server.removeAllListeners('tlsClientError');
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
    // Handshakes that fail (an old protocol, no common cipher, a port scan) are the client's problem.
    log.debug({ reason: error.code ?? error.message }, 'TLS handshake failed');
    socket.destroy();
  });
  if (h2) {
    // Node hands HTTP/2 CONNECT streams to `connect`, not to the request listener. The extended
    // CONNECT of a WebSocket (RFC 8441) is proxied; the balancer refuses any other with 400.
    server.on('connect', listener);
    const http2Server = server as TrackedServer;
    const sockets = (http2Server[OPEN_SOCKETS] = new Set());
    http2Server.on('secureConnection', (socket: TLSSocket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    http2Server.on('sessionError', (error: NodeJS.ErrnoException) => log.debug({ reason: error.code ?? error.message }, 'HTTP/2 session error'));
  }
  return server as HttpsServer | Http2Listener;
}

/**
 * Cuts every connection still open on a listener (the end of a graceful shutdown). An HTTP/2
 * server has no `closeAllConnections`, so it cuts the sockets it tracked.
 */
export function closeAllConnections(server: object & { closeAllConnections?: () => void }): void {
  const sockets = (server as TrackedServer)[OPEN_SOCKETS];
  if (sockets !== undefined) for (const socket of sockets) socket.destroy();
  else server.closeAllConnections?.();
}
