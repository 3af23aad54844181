import type { PeerState } from '../health.ts';
import type { ProberInfo } from './keys.ts';

/** Everything the shared store holds at one moment, as read in one round trip. */
export interface SharedHealthSnapshot {
  /** Every prober known, with whether its heartbeat is present. */
  readonly probers: ReadonlyArray<ProberInfo & { readonly live: boolean }>;
  /** The views of the live probers: prober id → peer key → state. */
  readonly views: ReadonlyMap<string, ReadonlyMap<string, PeerState>>;
  readonly drained: ReadonlySet<string>;
}
