import type { Log } from './log.ts';
import type { MembershipListener } from './membership.ts';

/** The log lines of peers joining and leaving, the same in edges and probers. */
export function membershipLog(log: Log): MembershipListener {
  return {
    peerAdded: (peer) => log.info({ pool: peer.pool, peer: peer.id, source: peer.source, weight: peer.weight }, 'peer joined'),
    peerRemoved: (peer) => log.info({ pool: peer.pool, peer: peer.id, source: peer.source }, 'peer left'),
  };
}
