import type pino from 'pino';

type Destination = ReturnType<typeof pino.destination>;

const LINES_PER_WRITE = 64;

/**
 * Gathers log lines and hands them to pino's asynchronous destination 64 at a time (and at
 * least every `flushMs`). Handing them over one by one makes that destination measure and copy
 * its whole growing buffer for every line, several microseconds per request at load.
 */
export class LineBatch {
  readonly #destination: Destination;
  #lines: string[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(destination: Destination, flushMs: number) {
    this.#destination = destination;
    this.#timer = setInterval(() => this.#handOver(), flushMs);
    this.#timer.unref();
  }

  write(line: string): boolean {
    if (this.#lines.push(line) >= LINES_PER_WRITE) this.#handOver();
    return true;
  }

  /**
   * Writes out what is left and closes the destination, waiting at most `timeoutMs`: a reader
   * that stopped reading must not hold the exit up (a synchronous flush would wait for it forever).
   */
  close(timeoutMs: number): Promise<void> {
    clearInterval(this.#timer);
    this.#handOver();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        // Destroyed, pino's exit hook does not try a synchronous flush to the stuck reader either.
        this.#destination.destroy();
        resolve();
      }, timeoutMs);
      timer.unref();
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#destination.once('close', done);
      this.#destination.once('error', done);
      this.#destination.end();
    });
  }

  #handOver(): void {
    if (this.#lines.length === 0) return;
    const text = this.#lines.join('');
    this.#lines = [];
    this.#destination.write(text);
  }
}
