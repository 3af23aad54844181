import { randomBytes } from 'node:crypto';

/**
 * WebSocket frames (RFC 6455 §5) written and read by hand, for a WebSocket carried on an HTTP/2
 * stream (RFC 8441), which no client library here speaks.
 */

/** A masked client frame: text by default, or `opcode` (8 is close). */
export function clientFrame(payload: Buffer | string, opcode = 0x1): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const length = data.length < 126 ? Buffer.from([0x80 | data.length])
    : data.length < 65_536 ? Buffer.from([0x80 | 126, data.length >> 8, data.length & 0xff])
    : Buffer.concat([Buffer.from([0x80 | 127]), bigEndian64(data.length)]);
  const mask = randomBytes(4);
  const masked = Buffer.from(data.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x80 | opcode]), length, mask, masked]);
}

function bigEndian64(value: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(value));
  return out;
}

export interface ServerFrame {
  readonly opcode: number;
  readonly payload: Buffer;
}

/** Reads the server's (unmasked) frames out of the bytes as they arrive. */
export class FrameReader {
  readonly frames: ServerFrame[] = [];
  #pending = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    for (;;) {
      const frame = this.#next();
      if (frame === undefined) return;
      this.frames.push(frame);
    }
  }

  #next(): ServerFrame | undefined {
    const bytes = this.#pending;
    if (bytes.length < 2) return undefined;
    let length = bytes[1]! & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (bytes.length < 4) return undefined;
      length = bytes.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (bytes.length < 10) return undefined;
      length = Number(bytes.readBigUInt64BE(2));
      offset = 10;
    }
    if (bytes.length < offset + length) return undefined;
    this.#pending = bytes.subarray(offset + length);
    return { opcode: bytes[0]! & 0x0f, payload: bytes.subarray(offset, offset + length) };
  }
}
