import type { Socket } from 'node:net';
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

/**
 * A client connection joined byte for byte to a peer connection after the peer answered an
 * Upgrade with `101`, with backpressure both ways (`pipe` stops reading a side whose other side
 * is not taking bytes). All bytes of both directions cross the client socket, so its inactivity
 * timer is the tunnel's idle timeout; no request timeout applies to a tunnel. When one side
 * closes, the other is ended once what it still has to send is flushed.
 */
export class Tunnel {
  readonly #client: Socket;
  readonly #peer: Duplex;
  readonly #done: (totals: TunnelTotals) => void;
  readonly #readAtStart: number;
  readonly #writtenAtStart: number;
  #end: TunnelEnd | undefined;
  #closed = 0;
  readonly #headBytes: number;

  /** `head` is the `101` head for the client; `idleMs` 0 means no idle timeout. */
  constructor(client: Socket, peer: Duplex, head: string, idleMs: number, done: (totals: TunnelTotals) => void) {
    this.#client = client;
    this.#peer = peer;
    this.#done = done;
    this.#readAtStart = client.bytesRead;
    this.#writtenAtStart = client.bytesWritten;
    this.#headBytes = Buffer.byteLength(head, 'latin1');
    client.write(head, 'latin1');
    // The listener's own timeout (its idle limit for requests) gives way to the tunnel's.
    client.removeAllListeners('timeout');
    client.setTimeout(idleMs, () => this.close('idle_timeout'));
    // Each side's error is followed by its `close`, where the tunnel ends.
    client.on('error', ignore);
    peer.on('error', ignore);
    client.once('close', () => this.#sideClosed('client', peer));
    peer.once('close', () => this.#sideClosed('peer', client));
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
    const client = this.#client;
    const written = client.bytesWritten - this.#writtenAtStart;
    this.#done({ end: this.#end, bytesIn: client.bytesRead - this.#readAtStart, bytesOut: Math.max(0, written - this.#headBytes) });
  }
}
