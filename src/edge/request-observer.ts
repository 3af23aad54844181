import type { Exchange } from './exchange.ts';

/**
 * Learns about every request once it is over (answered, failed or cut), from the fields the
 * request path filled in on its `Exchange`: the access log and the metrics hang here.
 */
export interface RequestObserver {
  requestDone(exchange: Exchange): void;
}

/** One observer telling each of `observers` in turn; undefined when there is none. */
export function observeAll(observers: ReadonlyArray<RequestObserver | undefined>): RequestObserver | undefined {
  const present = observers.filter((observer) => observer !== undefined);
  if (present.length <= 1) return present[0];
  return {
    requestDone(exchange) {
      for (const observer of present) observer.requestDone(exchange);
    },
  };
}
