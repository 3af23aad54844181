import type { Log } from '../core/log.ts';
import type { ProbeEvents } from './scheduler.ts';

/** The log lines a prober writes for flips and uncounted checks, the same in every mode. */
export function probeLogEvents(log: Log): ProbeEvents {
  return {
    onFlip(peer, up, reason) {
      if (up) log.info({ pool: peer.pool, peer: peer.id }, 'peer up');
      else log.warn({ pool: peer.pool, peer: peer.id, reason }, 'peer down');
    },
    onInconclusive(peer, reason) {
      log.warn({ pool: peer.pool, peer: peer.id, reason }, 'health check could not run here; not counted');
    },
  };
}
