import { isMessage, type HeldState } from './messages.ts';
import type { Address } from '../../core/address.ts';
import { adoptListenSocket, bindListenSockets, type ListenSocket } from './listen-sockets.ts';

interface ListenerMessage {
  readonly type: 'edgelb:listener';
  readonly index: number;
  readonly count: number;
}

/**
 * The new side of a graceful upgrade: the listening sockets the old process sends, in its order,
 * and what it held for its operators (sent first).
 */
export function receiveListeners(): Promise<{ sockets: ListenSocket[]; held: HeldState | undefined }> {
  return new Promise((resolve, reject) => {
    const received: ListenSocket[] = [];
    let held: HeldState | undefined;
    const onMessage = (message: unknown, handle: unknown) => {
      if (isMessage<HeldState & { type: 'edgelb:held' }>(message, 'edgelb:held')) {
        held = { drains: message.drains, peers: message.peers, ejected: message.ejected };
        return;
      }
      if (!isMessage<ListenerMessage>(message, 'edgelb:listener') || handle === undefined) return;
      received[message.index] = adoptListenSocket(handle);
      if (received.filter(Boolean).length === message.count) {
        process.off('message', onMessage);
        process.off('disconnect', onDisconnect);
        resolve({ sockets: received, held });
      }
    };
    const onDisconnect = () => reject(new Error('the running instance went away before sending its listening sockets'));
    process.on('message', onMessage);
    process.once('disconnect', onDisconnect);
  });
}

/** Tells the old process that this one serves: it stops accepting and drains. */
export function confirmTakeOver(): void {
  process.send?.({ type: 'edgelb:taken-over' }, () => process.disconnect?.());
}

/**
 * The sockets for the new config's `listen`: the old process's socket for the same address (by
 * position where the config says port 0), a new one for an address the old process did not have.
 * Old sockets the new config no longer lists are closed here (the old process drains them).
 */
export function matchListenSockets(addresses: readonly Address[], received: readonly ListenSocket[]): ListenSocket[] {
  const unused = new Set(received);
  const sockets = addresses.map((address, index) => {
    const same = received.find((socket) => unused.has(socket) && sameAddress(socket.address, address))
      ?? (address.port === 0 && received[index] !== undefined && unused.has(received[index]) ? received[index] : undefined);
    if (same === undefined) return bindListenSockets([address])[0]!;
    unused.delete(same);
    return same;
  });
  for (const socket of unused) socket.close();
  return sockets;
}

function sameAddress(bound: Address, wanted: Address): boolean {
  return bound.port === wanted.port && (bound.host === wanted.host || bound.host === `::ffff:${wanted.host}`);
}
