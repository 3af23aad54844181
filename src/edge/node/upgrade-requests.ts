import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { EventEmitter } from 'node:events';
import type { AnyRequestListener } from './tls-server.ts';

/**
 * Sends HTTP/1.1 Upgrade requests (WebSocket and any other token) through the same request
 * listener, hence the same route → selection → attempts path, as every other request. Node hands
 * them over apart, on `upgrade`, with the socket taken out of its HTTP parser and no response
 * object: one is made here, so an answer that is not `101` (the peer's `4xx`, the balancer's
 * `503`) goes out as any response does, and then the connection closes.
 */
const upgrades = new WeakSet<IncomingMessage>();

/** Whether Node handed `incoming` over as an Upgrade request (see `routeUpgrades`). */
export function isUpgrade(incoming: IncomingMessage): boolean {
  return upgrades.has(incoming);
}

export function routeUpgrades(server: EventEmitter, listener: AnyRequestListener): void {
  server.on('upgrade', (incoming: IncomingMessage, socket: Socket, head: Buffer) => {
    // Node took its own error listener off the socket; until a tunnel or a response owns it, an
    // error is followed by the close that ends the request.
    socket.on('error', ignore);
    // Bytes the client sent after the request head (a first WebSocket frame) belong to the tunnel.
    if (head.length > 0) socket.unshift(head);
    upgrades.add(incoming);
    const outgoing = new ServerResponse(incoming);
    outgoing.shouldKeepAlive = false;
    outgoing.assignSocket(socket);
    outgoing.once('finish', () => socket.end());
    listener(incoming, outgoing);
  });
}

function ignore(): void {}
