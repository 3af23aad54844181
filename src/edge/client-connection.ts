import type { EventEmitter } from 'node:events';

/** Something running on behalf of a client that must stop when the client goes away. */
export interface Abortable {
  abort(reason: Error): void;
}

const IN_FLIGHT = Symbol('edgelb.inFlight');
const CLIENT_GONE = Object.freeze(new Error('the client closed the connection'));

/**
 * The requests in flight on a client connection (or HTTP/2 stream). One `close` listener per
 * connection aborts them all, which costs far less than a listener or an AbortController per request.
 */
export function inFlightOn(socket: EventEmitter): Set<Abortable> {
  const tagged = socket as EventEmitter & { [IN_FLIGHT]?: Set<Abortable> };
  let inFlight = tagged[IN_FLIGHT];
  if (inFlight === undefined) {
    const created = new Set<Abortable>();
    inFlight = tagged[IN_FLIGHT] = created;
    socket.once('close', () => {
      for (const request of created) request.abort(CLIENT_GONE);
      created.clear();
    });
  }
  return inFlight;
}
