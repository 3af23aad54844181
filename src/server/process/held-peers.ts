import { formatAddress } from '../../core/address.ts';
import type { Membership } from '../../core/membership.ts';
import { applyPeerEntry, type PeerEntry } from './messages.ts';

/**
 * The peers operators added through the admin API, held by the primary in embedded mode, so
 * that a reload (SIGHUP) and a replaced worker start with them; a graceful upgrade hands them to
 * the new process. A reload whose config no longer
 * has their pool drops them with it; one whose config names the same address keeps the
 * configured peer.
 */
export class HeldPeers {
  readonly #peers = new Map<string, PeerEntry>();

  constructor(entries: readonly PeerEntry[] = []) {
    for (const entry of entries) this.apply(entry, true);
  }

  apply(entry: PeerEntry, joined: boolean): void {
    const key = `${entry.pool}/${formatAddress(entry.spec)}`;
    if (joined) this.#peers.set(key, entry);
    else this.#peers.delete(key);
  }

  entries(): PeerEntry[] {
    return [...this.#peers.values()];
  }

  /** Adds every held peer to a new generation's membership. */
  restore(membership: Membership): void {
    for (const entry of this.#peers.values()) applyPeerEntry(membership, entry, true);
  }
}
