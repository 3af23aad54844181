import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Address } from '../core/address.ts';
import type { Log } from '../core/log.ts';
import { clientErrorHandler, malformedRequestHandler } from './node-client-errors.ts';
import type { NodeEnv } from './node-forwarder.ts';
import { stopAccepting, sweepIdleConnectionsAfterGrace } from './polite-close.ts';

export interface ListenerOptions {
  readonly log: Log;
  /**
   * A client connection that neither sends nor takes a byte for this long is closed: a stalled
   * upload or a client that stopped reading. It must exceed the longest upstream `read_timeout`,
   * or a client waiting on a slow but healthy peer would be cut first.
   */
  readonly clientIdleTimeoutMs: number;
  /** Listening sockets inherited from the primary, one per address in order: accept on these instead of binding. */
  readonly listenFds?: readonly number[];
}

/** The Node listeners of one balancer app. */
export class NodeListeners {
  readonly #servers: Server[];

  private constructor(servers: Server[]) {
    this.#servers = servers;
  }

  /** Serves `app` on every address; rejects (closing what it opened) if any cannot listen. */
  static async open(app: Hono<NodeEnv>, addresses: readonly Address[], options: ListenerOptions): Promise<NodeListeners> {
    const servers: Server[] = [];
    try {
      for (const [index, address] of addresses.entries()) servers.push(await listen(app, address, options, options.listenFds?.[index]));
    } catch (error) {
      for (const server of servers) server.close();
      throw error;
    }
    return new NodeListeners(servers);
  }

  /** The bound addresses, with the real port where the config asked for port 0. */
  addresses(): AddressInfo[] {
    return this.#servers.map((server) => server.address() as AddressInfo);
  }

  /**
   * Stops accepting and resolves once every connection has closed. Responses from now on ask
   * their clients to close; idle keep-alive connections get a short grace to send one last request
   * (see `IDLE_GRACE_MS`) and are closed after it; at the deadline the rest are cut.
   */
  async close(deadlineMs: number): Promise<{ forced: boolean }> {
    const closed = this.#servers.map((server) => new Promise<void>((resolve) => stopAccepting(server, resolve)));
    const sweep = sweepIdleConnectionsAfterGrace(this.#servers);
    let forced = false;
    const deadline = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        forced = true;
        this.#servers.forEach((server) => server.closeAllConnections());
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

function listen(app: Hono<NodeEnv>, address: Address, options: ListenerOptions, fd: number | undefined): Promise<Server> {
  const listener = getRequestListener(app.fetch as Parameters<typeof getRequestListener>[0], {
    // The balancer builds Web objects only for its own error responses; leave Node's globals alone
    // and let the forwarder own the request body (it streams it upstream).
    overrideGlobalObjects: false,
    autoCleanupIncoming: false,
    errorHandler: malformedRequestHandler(options.log),
  });
  // Whole-request deadlines would cut off large uploads; the idle timeout, the upstream read
  // timeout and Node's header timeout bound the waits instead.
  const server = createServer({ requestTimeout: 0 }, listener);
  server.timeout = options.clientIdleTimeoutMs;
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
