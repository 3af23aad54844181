import { connect, type TLSSocket } from 'node:tls';

/**
 * HTTP/2 spoken frame by frame, for what a well-behaved client library will not send: more
 * streams than the server allows, or header fields a client library would refuse to encode.
 */
export const FRAME = { DATA: 0x0, HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, PING: 0x6, GOAWAY: 0x7, WINDOW_UPDATE: 0x8 } as const;
export const ERROR = { NO_ERROR: 0x0, PROTOCOL_ERROR: 0x1, REFUSED_STREAM: 0x7, ENHANCE_YOUR_CALM: 0xb } as const;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ACK = 0x1;
const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Buffer;
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK "literal header field without indexing", the name as a literal too: any bytes at all. */
function literal(name: string, value: string): Buffer {
  const bytes = (text: string) => Buffer.from(text, 'latin1');
  const length = (text: string) => {
    // Seven-bit prefix integers; these tests use names and values shorter than 127 bytes.
    if (text.length >= 127) throw new Error('h2-frames: header text too long for this encoder');
    return Buffer.from([text.length]);
  };
  return Buffer.concat([Buffer.from([0x00]), length(name), bytes(name), length(value), bytes(value)]);
}

/** A HEADERS frame (END_STREAM, END_HEADERS) of a GET request, with `extra` fields as written. */
export function getRequest(stream: number, authority: string, path: string, extra: readonly [string, string][] = []): Buffer {
  // Static-table indexes: 0x82 `:method GET`, 0x87 `:scheme https`.
  const block = Buffer.concat([
    Buffer.from([0x82, 0x87]),
    literal(':path', path),
    literal(':authority', authority),
    ...extra.map(([name, value]) => literal(name, value)),
  ]);
  return frame(FRAME.HEADERS, END_STREAM | END_HEADERS, stream, block);
}

/** A raw HTTP/2 connection over TLS: frames out as given, frames in as parsed. */
export class RawH2 {
  readonly frames: Frame[] = [];
  closed = false;
  readonly #socket: TLSSocket;
  #pending = Buffer.alloc(0);

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
        socket.write(Buffer.concat([Buffer.from(PREFACE, 'latin1'), frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(0))]));
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
    await this.until('the server\'s SETTINGS', () => this.frames.some((f) => f.type === FRAME.SETTINGS && (f.flags & ACK) === 0), timeoutMs);
    const opaque = Buffer.from('edgelb!!', 'latin1');
    const seen = this.frames.length;
    this.send(frame(FRAME.PING, 0, 0, opaque));
    const deadline = performance.now() + timeoutMs;
    while (!this.frames.slice(seen).some((f) => f.type === FRAME.PING && (f.flags & ACK) !== 0 && f.payload.equals(opaque))) {
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
    return this.frames.filter((f) => f.type === FRAME.DATA && f.stream === stream).map((f) => f.payload.toString('latin1')).join('');
  }

  /** The error code of each RST_STREAM received, by stream. */
  resets(): Map<number, number> {
    return new Map(this.frames.filter((f) => f.type === FRAME.RST_STREAM).map((f) => [f.stream, f.payload.readUInt32BE(0)]));
  }

  /** Streams that got response headers. */
  answered(): Set<number> {
    return new Set(this.frames.filter((f) => f.type === FRAME.HEADERS).map((f) => f.stream));
  }

  goaway(): Frame | undefined {
    return this.frames.find((f) => f.type === FRAME.GOAWAY);
  }

  close(): void {
    this.#socket.destroy();
  }

  #read(chunk: Buffer): void {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 9) {
      const length = this.#pending.readUIntBE(0, 3);
      if (this.#pending.length < 9 + length) return;
      const parsed = { type: this.#pending[3]!, flags: this.#pending[4]!, stream: this.#pending.readUInt32BE(5) & 0x7fffffff, payload: this.#pending.subarray(9, 9 + length) };
      this.#pending = this.#pending.subarray(9 + length);
      this.frames.push(parsed);
      if (parsed.type === FRAME.SETTINGS && (parsed.flags & ACK) === 0) this.send(frame(FRAME.SETTINGS, ACK, 0, Buffer.alloc(0)));
    }
  }
}
