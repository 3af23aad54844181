import net from 'node:net';
import { getSystemErrorName } from 'node:util';
import { constants } from 'node:os';
import type { Address } from '../../core/address.ts';
import { formatAddress } from '../../core/address.ts';
import type { Config } from '../../core/config.ts';

/**
 * A listening socket held by the primary without accepting on it: its workers accept, and it
 * outlives them, so a replaced worker, a reloaded generation or a new build (graceful upgrade)
 * finds the very same socket with its queue of waiting connections.
 */
export interface ListenSocket {
  /** The bound address (the real port where the config asked for port 0). */
  readonly address: Address;
  readonly fd: number;
  close(): void;
}

/**
 * Node's own handle type for a bound TCP socket that no event loop polls. node:cluster creates
 * its shared listening handles the same way (`net._createServerHandle`); it is the only way in
 * Node to hold a listening socket without accepting connections on it.
 */
interface RawHandle {
  readonly fd: number;
  getsockname(out: { address?: string; port?: number }): number;
  close(): void;
}
type CreateServerHandle = (address: string | undefined, port: number | undefined, addressType: number | undefined, fd?: number) => RawHandle | number;
const createServerHandle = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle;

const UV_EADDRINUSE = -constants.errno.EADDRINUSE;

/**
 * The addresses the primary holds sockets for: the traffic listeners in `listen` order, then the
 * admin listener's, so that it too outlives workers and passes to a new build in an upgrade.
 */
export function heldAddresses(config: Pick<Config, 'listen' | 'admin'>): Address[] {
  return config.admin === undefined ? [...config.listen] : [...config.listen, config.admin.listen];
}

/** Binds `heldAddresses(config)`; a failure names `admin.listen` when it is the admin address. */
export function bindHeldSockets(config: Pick<Config, 'listen' | 'admin'>): ListenSocket[] {
  return bindListenSockets(heldAddresses(config), config.admin === undefined ? [] : [...config.listen.map(() => undefined), 'admin.listen']);
}

/**
 * Binds every address; throws `listen EADDRINUSE 0.0.0.0:8080` and the like (with the config key
 * from `names` where given, e.g. `admin.listen: EADDRINUSE ...`), closing what it bound.
 */
export function bindListenSockets(addresses: readonly Address[], names: readonly (string | undefined)[] = []): ListenSocket[] {
  const sockets: ListenSocket[] = [];
  for (const [index, address] of addresses.entries()) {
    const host = address.host === 'localhost' ? '127.0.0.1' : address.host;
    const handle = createServerHandle(host, address.port, net.isIPv6(host) ? 6 : 4);
    const socket = typeof handle === 'number' ? undefined : fromHandle(handle);
    // libuv defers EADDRINUSE from bind to listen; a socket that did not bind has port 0.
    if (socket === undefined || socket.address.port === 0) {
      socket?.close();
      for (const bound of sockets) bound.close();
      const what = names[index] === undefined ? 'listen' : `${names[index]}:`;
      throw new Error(`${what} ${getSystemErrorName(typeof handle === 'number' ? handle : UV_EADDRINUSE)} ${formatAddress(address)}`);
    }
    sockets.push(socket);
  }
  return sockets;
}

/** Wraps a listening socket received from the previous build (a raw handle sent over IPC). */
export function adoptListenSocket(handle: unknown): ListenSocket {
  return fromHandle(handle as RawHandle);
}

/** Opens a handle on an inherited listening socket's fd, to send it on without accepting on it. */
export function handleForFd(fd: number): unknown {
  const handle = createServerHandle(undefined, undefined, undefined, fd);
  if (typeof handle === 'number') throw new Error(`fd ${fd}: ${getSystemErrorName(handle)}`);
  return handle;
}

function fromHandle(handle: RawHandle): ListenSocket {
  const bound: { address?: string; port?: number } = {};
  handle.getsockname(bound);
  let closed = false;
  return {
    address: { host: bound.address ?? '', port: bound.port ?? 0 },
    fd: handle.fd,
    close() {
      if (closed) return;
      closed = true;
      handle.close();
    },
  };
}
