import { Readable } from 'node:stream';

/**
 * The client's request body as handed to undici. It starts reading the client only when undici
 * asks for the first chunk, i.e. once an upstream connection exists, so after a failed connect
 * the body is untouched and the request can go to the next peer. Destroying it (undici does on
 * any upstream error) detaches from the client stream instead of destroying the client's socket,
 * so an error response can still be sent.
 */
export class RequestBody extends Readable {
  readonly #source: Readable;
  #started = false;
  #received = 0;

  constructor(source: Readable) {
    super();
    this.#source = source;
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
    this.#source.off('data', this.#onData);
    this.#source.off('end', this.#onEnd);
    this.#source.off('error', this.#onError);
    callback(error);
  }

  #onData = (chunk: Buffer): void => {
    this.#received += chunk.length;
    if (!this.push(chunk)) this.#source.pause();
  };

  #onEnd = (): void => {
    this.push(null);
  };

  #onError = (error: Error): void => {
    this.destroy(error);
  };
}
