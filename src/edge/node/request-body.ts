import { Readable } from 'node:stream';
import { ProxyError } from '../../core/errors.ts';
import { bodyTooLarge } from '../body-limit.ts';

/** How much of a client's body is let through, and how long it may pause. */
export interface BodyLimits {
  /** Bytes; 0: no limit. Past it the body fails with a 413 and nothing more goes upstream. */
  readonly maxBytes: number;
  /** The longest wait for the client's next chunk while the peer is ready for it (then 408). */
  readonly stallMs: number;
}

/**
 * The client's request body as handed to undici. It starts reading the client only when undici
 * asks for the first chunk, i.e. once an upstream connection exists, so after a failed connect
 * the body is untouched and the request can go to the next peer. Destroying it (undici does on
 * any upstream error) detaches from the client stream instead of destroying the client's socket,
 * so an error response can still be sent.
 */
export class RequestBody extends Readable {
  readonly #source: Readable;
  readonly #limits: BodyLimits;
  #started = false;
  #received = 0;
  /** Runs while edgelb waits for the client (not while the peer is slow to take what it has). */
  #stall: NodeJS.Timeout | undefined;

  constructor(source: Readable, limits: BodyLimits) {
    super();
    this.#source = source;
    this.#limits = limits;
  }

  /** How many bytes of the client's body were handed on. */
  get received(): number {
    return this.#received;
  }

  /** Whether any of the client's body may have been sent upstream. */
  get started(): boolean {
    return this.#started;
  }

  override _read(): void {
    this.#stall ??= setTimeout(this.#onStall, this.#limits.stallMs);
    if (this.#started) {
      this.#source.resume();
      return;
    }
    this.#started = true;
    this.#source.on('data', this.#onData);
    this.#source.once('end', this.#onEnd);
    this.#source.once('error', this.#onError);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#stopWaiting();
    this.#source.off('data', this.#onData);
    this.#source.off('end', this.#onEnd);
    this.#source.off('error', this.#onError);
    callback(error);
  }

  #onData = (chunk: Buffer): void => {
    this.#received += chunk.length;
    const { maxBytes } = this.#limits;
    if (maxBytes > 0 && this.#received > maxBytes) {
      this.destroy(bodyTooLarge(maxBytes));
      return;
    }
    if (this.push(chunk)) this.#stall?.refresh();
    else {
      this.#source.pause();
      this.#stopWaiting();
    }
  };

  #onEnd = (): void => {
    this.#stopWaiting();
    this.push(null);
  };

  #onStall = (): void => {
    this.destroy(new ProxyError('request_timeout', 'the request body stalled'));
  };

  #stopWaiting(): void {
    clearTimeout(this.#stall);
    this.#stall = undefined;
  }

  #onError = (error: Error): void => {
    this.destroy(error);
  };
}
