import type { Peer } from '../../core/peer.ts';
import type { Tunnel } from './tunnel.ts';

/**
 * The tunnels a worker has open, by peer: what `/status` and the `edgelb_tunnels_open` gauge
 * show, and what a graceful shutdown that runs out of time cuts.
 */
export class OpenTunnels {
  readonly #tunnels = new Map<Tunnel, Peer>();
  readonly #byPeer = new WeakMap<Peer, number>();

  add(tunnel: Tunnel, peer: Peer): void {
    this.#tunnels.set(tunnel, peer);
    this.#byPeer.set(peer, (this.#byPeer.get(peer) ?? 0) + 1);
  }

  delete(tunnel: Tunnel): void {
    const peer = this.#tunnels.get(tunnel);
    if (peer === undefined) return;
    this.#tunnels.delete(tunnel);
    this.#byPeer.set(peer, this.#byPeer.get(peer)! - 1);
  }

  count(peer: Peer): number {
    return this.#byPeer.get(peer) ?? 0;
  }

  /** Cuts every tunnel (the end of a graceful shutdown's grace period). */
  closeAll(): void {
    for (const tunnel of [...this.#tunnels.keys()]) tunnel.close('shutdown');
  }
}
