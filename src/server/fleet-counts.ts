import type { Exchange } from '../edge/exchange.ts';
import type { RequestObserver } from '../edge/request-observer.ts';

/** What the fleet view says of this process's traffic: two counters, kept per request. */
export class FleetCounts implements RequestObserver {
  requests = 0;
  errors = 0;

  requestDone(exchange: Exchange): void {
    this.requests++;
    if (exchange.status >= 500) this.errors++;
  }
}
