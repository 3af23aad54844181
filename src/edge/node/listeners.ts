import { createServer, type Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Address } from '../../core/address.ts';
import type { LimitsConfig, ListenerConfig } from '../../core/config.ts';
import type { Log } from '../../core/log.ts';
import { ConnectionGate } from './connection-gate.ts';
import { FileWatch } from './file-watch.ts';
import { routeUpgrades } from './upgrade-requests.ts';
import { stopAccepting, sweepIdleConnectionsAfterGrace } from './graceful-close.ts';
import { clientErrorHandler, malformedRequestHandler } from './client-errors.ts';
import type { NodeEnv } from './undici-forwarder.ts';
import { ServerCertificates } from './server-certificates.ts';
import { closeAllConnections, createTlsServer, type AnyRequestListener, type Http2Listener, type HttpServerLimits } from './tls-server.ts';

/** Where to listen: an address, and for TLS listeners their certificates and whether to offer h2. */
export type ListenerSpec = Address & Partial<Pick<ListenerConfig, 'tls' | 'h2'>>;
type ListeningServer = Server | HttpsServer | Http2Listener;

export interface ListenerOptions {
  readonly log: Log;
  /**
   * A client connection that neither sends nor takes a byte for this long is closed: a stalled
   * upload or a client that stopped reading. It must exceed the longest upstream `read_timeout`,
   * or a client waiting on a slow but healthy peer would be cut first.
   */
  readonly clientIdleTimeoutMs: number;
  readonly limits: LimitsConfig;
  /** Listening sockets inherited from the primary, one per address in order: accept on these instead of binding. */
  readonly listenFds?: readonly number[];
}

/** The Node listeners of one balancer app. */
export class NodeListeners {
  readonly #servers: ListeningServer[];
  readonly #certificates: ServerCertificates[];
  readonly #watches: FileWatch[];
  readonly #gate: ConnectionGate;

  private constructor(servers: ListeningServer[], certificates: ServerCertificates[], gate: ConnectionGate, log: Log) {
    this.#servers = servers;
    this.#gate = gate;
    this.#certificates = certificates;
    this.#watches = certificates.map((set) => new FileWatch(set.files(), () => void set.reload(), log));
  }

  /** Serves `app` on every address; rejects (closing what it opened) if any cannot listen. */
  static async open(app: Hono<NodeEnv>, addresses: readonly ListenerSpec[], options: ListenerOptions): Promise<NodeListeners> {
    const servers: ListeningServer[] = [];
    const certificates: ServerCertificates[] = [];
    const gate = new ConnectionGate(options.limits.max_connections, options.log);
    try {
      for (const [index, address] of addresses.entries()) {
        const tls = address.tls === undefined ? undefined : await ServerCertificates.load(address.tls.certs, `listen.${index}.`, options.log);
        if (tls !== undefined) certificates.push(tls);
        const server = await listen(app, address, tls, options, options.listenFds?.[index]);
        servers.push(server);
        gate.guard(server);
      }
    } catch (error) {
      for (const server of servers) server.close();
      throw error;
    }
    return new NodeListeners(servers, certificates, gate, options.log);
  }

  /** Re-reads every TLS listener's certificate files; a broken new file keeps the old one serving. */
  async reloadCertificates(): Promise<void> {
    await Promise.all(this.#certificates.map((set) => set.reload()));
  }

  /** The bound addresses, with the real port where the config asked for port 0. */
  addresses(): AddressInfo[] {
    return this.#servers.map((server) => server.address() as AddressInfo);
  }

  /** The client connections open on all listeners. */
  async connectionCount(): Promise<number> {
    const counts = await Promise.all(this.#servers.map((server) =>
      new Promise<number>((resolve) => server.getConnections((error, count) => resolve(error ? 0 : count)))));
    return counts.reduce((sum, count) => sum + count, 0);
  }

  /**
   * Stops accepting and resolves once every connection has closed. Responses from now on ask
   * their clients to close; idle keep-alive connections get a short grace to send one last request
   * (see `IDLE_GRACE_MS`) and are closed after it; at the deadline the rest are cut.
   */
  async close(deadlineMs: number): Promise<{ forced: boolean }> {
    for (const watch of this.#watches) watch.close();
    this.#gate.openAll();
    // HTTP/2 sessions get a GOAWAY from `close`: their streams in flight finish, no new ones start.
    const closed = this.#servers.map((server) => new Promise<void>((resolve) => stopAccepting(server, resolve)));
    const sweep = sweepIdleConnectionsAfterGrace(this.#servers);
    let forced = false;
    const deadline = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        forced = true;
        this.#servers.forEach(closeAllConnections);
        resolve();
      }, deadlineMs);
      timer.unref();
    });
    try {
      await Promise.race([Promise.all(closed), deadline]);
    } finally {
      sweep.stop();
    }
    return { forced };
  }
}

function listen(
  app: Hono<NodeEnv>, address: ListenerSpec, certificates: ServerCertificates | undefined, options: ListenerOptions, fd: number | undefined,
): Promise<ListeningServer> {
  const listener = getRequestListener(app.fetch as Parameters<typeof getRequestListener>[0], {
    // The balancer builds Web objects only for its own error responses; leave Node's globals alone
    // and let the forwarder own the request body (it streams it upstream).
    overrideGlobalObjects: false,
    autoCleanupIncoming: false,
    errorHandler: malformedRequestHandler(options.log),
  });
  const limits = httpServerLimits(options.limits);
  const server = certificates === undefined
    ? createServer(limits, listener)
    : createTlsServer(certificates, address.h2 ?? false, listener as AnyRequestListener, {
      ...limits, handshakeTimeout: options.limits.tls_handshake_timeout, maxHeaderListPairs: Math.max(128, options.limits.max_headers + 4),
    }, options.log);
  server.timeout = options.clientIdleTimeoutMs;
  routeUpgrades(server, listener as AnyRequestListener);
  server.on('clientError', clientErrorHandler(options.log));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const ready = () => {
      server.off('error', reject);
      resolve(server);
    };
    if (fd === undefined) server.listen(address.port, address.host, ready);
    else server.listen({ fd }, ready);
  });
}

/**
 * Node's limits for a client's HTTP/1.1 requests. A whole-request deadline would cut off large
 * uploads, so there is none; the idle timeout and the upstream read timeout bound the waits
 * instead. The header timeout must be given explicitly: left out, Node derives it from the
 * request timeout and a request timeout of 0 turns it off, which lets a client dribbling header
 * lines hold a connection for ever. Node checks the deadlines on an interval (30 s by default),
 * which would let a 10 s timeout run to 40 s; checking a few times per timeout keeps it close.
 */
export function httpServerLimits(limits: LimitsConfig): HttpServerLimits {
  const headersTimeout = limits.client_header_timeout;
  return {
    requestTimeout: 0,
    headersTimeout,
    connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(headersTimeout / 4))),
    keepAliveTimeout: limits.client_keepalive_timeout,
    maxHeaderSize: limits.max_header_size,
  };
}
