import type { Duplex } from 'node:stream';
import type { TunnelEnd } from '../exchange.ts';

export interface TunnelTotals {
  readonly end: TunnelEnd;
  /** Bytes the client sent through the tunnel, and bytes it was sent. */
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** How long the side left open after the other closed may take to flush before it is cut. */
const LINGER_MS = 5_000;

function ignore(): void {}

/** A tunnel's client side: an HTTP/1.1 socket, or the HTTP/2 stream of an extended CONNECT. */
export type TunnelClient = Duplex & { setTimeout(ms: number, callback?: () => void): unknown };

/**
 * A client connection (or HTTP/2 stream) joined byte for byte to a peer connection after the
 * peer accepted an upgrade, with backpressure both ways (`pipe` stops reading a side whose other
 * side is not taking bytes). All bytes of both directions cross the client side, so its
 * inactivity timer is the tunnel's idle timeout; no request timeout applies to a tunnel. When one
 * side closes, the other is ended once what it still has to send is flushed.
 */
export class Tunnel {
  readonly #client: TunnelClient;
  readonly #peer: Duplex;
  readonly #done: (totals: TunnelTotals) => void;
  #end: TunnelEnd | undefined;
  #closed = 0;
  #bytesIn = 0;
  #bytesOut = 0;

  /** The client has been answered already (its `101`, or HTTP/2's `200`); `idleMs` 0 means no idle timeout. */
  constructor(client: TunnelClient, peer: Duplex, idleMs: number, done: (totals: TunnelTotals) => void) {
    this.#client = client;
    this.#peer = peer;
    this.#done = done;
    // The listener's own timeout (its idle limit for requests) gives way to the tunnel's.
    client.removeAllListeners('timeout');
    client.setTimeout(idleMs, () => this.close('idle_timeout'));
    // Each side's error is followed by its `close`, where the tunnel ends.
    client.on('error', ignore);
    peer.on('error', ignore);
    client.once('close', () => this.#sideClosed('client', peer));
    peer.once('close', () => this.#sideClosed('peer', client));
    client.on('data', (chunk: Buffer) => (this.#bytesIn += chunk.length));
    peer.on('data', (chunk: Buffer) => (this.#bytesOut += chunk.length));
    client.pipe(peer);
    peer.pipe(client);
  }

  /** Cuts both sides at once. */
  close(end: TunnelEnd): void {
    this.#end ??= end;
    this.#client.destroy();
    this.#peer.destroy();
  }

  #sideClosed(side: 'client' | 'peer', other: Duplex): void {
    this.#end ??= side;
    if (++this.#closed === 1) {
      // What the other side still has to send goes out first, for a moment at most.
      other.end();
      setTimeout(() => other.destroy(), LINGER_MS).unref();
      return;
    }
    this.#done({ end: this.#end, bytesIn: this.#bytesIn, bytesOut: this.#bytesOut });
  }
}
