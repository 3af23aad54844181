import { connect, type TLSSocket } from 'node:tls';
import { Flag, frame, FrameReader, FrameType, PREFACE, requestBlock, type Frame } from './h2-codec.ts';

/**
 * HTTP/2 spoken frame by frame (with the codec of `h2-codec.ts`), for what a well-behaved
 * client library will not send: more streams than the server allows, or header fields a client
 * library would refuse to encode.
 */
export const ERROR = { NO_ERROR: 0x0, PROTOCOL_ERROR: 0x1, REFUSED_STREAM: 0x7, ENHANCE_YOUR_CALM: 0xb } as const;

/** A HEADERS frame (END_STREAM, END_HEADERS) of a GET request, with `extra` fields as written. */
export function getRequest(stream: number, authority: string, path: string, extra: readonly [string, string][] = []): Buffer {
  return frame(FrameType.HEADERS, Flag.END_STREAM | Flag.END_HEADERS, stream, requestBlock(path, authority, extra));
}

/** A raw HTTP/2 connection over TLS: frames out as given, frames in as parsed. */
export class RawH2 {
  readonly frames: Frame[] = [];
  closed = false;
  readonly #socket: TLSSocket;
  readonly #reader = new FrameReader();

  private constructor(socket: TLSSocket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    socket.on('error', () => {});
    socket.once('close', () => (this.closed = true));
  }

  /** Connects with ALPN h2 and sends the preface and an empty SETTINGS frame. */
  static open(port: number): Promise<RawH2> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ALPNProtocols: ['h2'], rejectUnauthorized: false, servername: 'example.com' }, () => {
        if (socket.alpnProtocol !== 'h2') return reject(new Error(`ALPN chose ${String(socket.alpnProtocol)}, not h2`));
        socket.write(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0)]));
        resolve(new RawH2(socket));
      });
      socket.once('error', reject);
    });
  }

  send(bytes: Buffer): void {
    this.#socket.write(bytes);
  }

  /**
   * Resolves when the server answers a PING: it has then read everything sent before, our
   * acknowledgement of its SETTINGS included (from then on its limits hold for this connection).
   */
  async ping(timeoutMs = 5_000): Promise<void> {
    await this.until('the server\'s SETTINGS', () => this.frames.some((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0), timeoutMs);
    const opaque = Buffer.from('edgelb!!', 'latin1');
    const seen = this.frames.length;
    this.send(frame(FrameType.PING, 0, 0, opaque));
    const deadline = performance.now() + timeoutMs;
    while (!this.frames.slice(seen).some((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0 && f.payload.equals(opaque))) {
      if (this.closed || performance.now() > deadline) throw new Error('h2-frames: no PING acknowledgement');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Waits until `done` holds for the frames received, or fails at the deadline. */
  async until(what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!done()) {
      if (performance.now() > deadline) throw new Error(`h2-frames: timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** The DATA a stream received, as text. */
  body(stream: number): string {
    return this.frames.filter((f) => f.type === FrameType.DATA && f.streamId === stream).map((f) => f.payload.toString('latin1')).join('');
  }

  /** The error code of each RST_STREAM received, by stream. */
  resets(): Map<number, number> {
    return new Map(this.frames.filter((f) => f.type === FrameType.RST_STREAM).map((f) => [f.streamId, f.payload.readUInt32BE(0)]));
  }

  /** Streams that got response headers. */
  answered(): Set<number> {
    return new Set(this.frames.filter((f) => f.type === FrameType.HEADERS).map((f) => f.streamId));
  }

  goaway(): Frame | undefined {
    return this.frames.find((f) => f.type === FrameType.GOAWAY);
  }

  close(): void {
    this.#socket.destroy();
  }

  #read(chunk: Buffer): void {
    for (const parsed of this.#reader.push(chunk)) {
      this.frames.push(parsed);
      if (parsed.type === FrameType.SETTINGS && (parsed.flags & Flag.ACK) === 0) this.send(frame(FrameType.SETTINGS, Flag.ACK, 0));
    }
  }
}
