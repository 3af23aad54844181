import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Address } from '../../core/address.ts';
import type { AdminEnv } from './own-host.ts';

/** The admin app on its own listener, apart from the traffic listeners. */
export class AdminServer {
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Listens on `address`, or accepts on `fd`: a socket bound by the primary, which outlives workers. */
  static open(app: Hono<AdminEnv>, address: Address, fd?: number): Promise<AdminServer> {
    // Node's own Response stays global: the balancer in the same process hands Hono responses that
    // @hono/node-server's replacement class would write out a second time (a HEAD's wrapped answer).
    const server = createServer(getRequestListener(app.fetch, { overrideGlobalObjects: false }));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      const ready = () => {
        server.off('error', reject);
        resolve(new AdminServer(server));
      };
      if (fd === undefined) server.listen(address.port, address.host, ready);
      else server.listen({ fd }, ready);
    });
  }

  address(): AddressInfo {
    return this.#server.address() as AddressInfo;
  }

  /** Closes at once: dashboards and scrapers reconnect to the next instance. */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    return closed;
  }
}
