import type { HttpBindings } from '@hono/node-server';
import type { MiddlewareHandler } from 'hono';

/** The admin app runs on @hono/node-server, whose bindings carry the Node request and its socket. */
export type AdminEnv = { Bindings: HttpBindings };

/**
 * Refuses every request whose `Host` does not name this listener: the names of loopback
 * (`localhost`, `127.0.0.1`, `[::1]`) or the address the connection arrived on, with the port it
 * arrived on. A DNS-rebinding page (evil.example re-resolved to 127.0.0.1) reaches a loopback
 * listener with its own name in `Host`, and the browser would let its script read the answers as
 * same-origin; no browser can make a page send another site's name. Only for a listener without a
 * token: one with a token may be reached by any name, and the token is what protects it.
 *
 * The socket, not the config, says which address and port: `listen` may ask for port 0 or name
 * `localhost`, and the listening socket may come from the primary process.
 */
export function ownHostOnly(): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const socket = c.env?.incoming?.socket;
    const host = c.req.header('host');
    if (socket?.localPort === undefined || host === undefined || !namesListener(host, socket.localAddress, socket.localPort)) {
      return c.json({ error: `Host ${host === undefined ? '(none)' : JSON.stringify(host)} is not this admin listener's; ` +
        'without a token it answers only to localhost, 127.0.0.1 or [::1] with its own port' }, 403);
    }
    return next();
  };
}

const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/;

function namesListener(host: string, localAddress: string | undefined, localPort: number): boolean {
  const match = HOST_HEADER.exec(host.toLowerCase());
  if (match === null) return false;
  const port = match[2] === undefined ? 80 : Number(match[2]);
  return port === localPort && ownNames(localAddress).has(match[1]!);
}

function ownNames(localAddress: string | undefined): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '[::1]']);
  if (localAddress !== undefined) {
    // A dual-stack socket reports an IPv4 client's connection as ::ffff:127.0.0.1.
    const address = localAddress.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '').toLowerCase();
    names.add(address.includes(':') ? `[${address}]` : address);
  }
  return names;
}
