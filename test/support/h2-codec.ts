/**
 * Just enough HTTP/2 (RFC 9113) to misbehave on purpose: Node's own client obeys the server's
 * stream limit and validates header values, which is exactly what the hostile-client tests and
 * the security probes (bench/security) must not do.
 */

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FrameType = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 } as const;
export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

/** Error codes by number, for reports (RFC 9113 §7). */
export const ERROR_NAMES: Record<number, string> = {
  0: 'NO_ERROR', 1: 'PROTOCOL_ERROR', 2: 'INTERNAL_ERROR', 3: 'FLOW_CONTROL_ERROR', 5: 'STREAM_CLOSED',
  6: 'FRAME_SIZE_ERROR', 7: 'REFUSED_STREAM', 8: 'CANCEL', 11: 'ENHANCE_YOUR_CALM', 13: 'HTTP_1_1_REQUIRED',
};

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** Splits a byte stream into frames; keeps a partial frame for the next chunk. */
export class FrameReader {
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const frames: Frame[] = [];
    while (this.#pending.length >= 9) {
      const length = this.#pending.readUIntBE(0, 3);
      if (this.#pending.length < 9 + length) break;
      frames.push({
        type: this.#pending[3]!,
        flags: this.#pending[4]!,
        streamId: this.#pending.readUInt32BE(5) & 0x7fffffff,
        payload: this.#pending.subarray(9, 9 + length),
      });
      this.#pending = this.#pending.subarray(9 + length);
    }
    return frames;
  }
}

/** A string literal of HPACK (§5.2), never Huffman-coded; values here stay under 127 bytes. */
function literal(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  if (bytes.length >= 127) throw new Error('the probe only encodes short literals');
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

/**
 * A request header block from static-table indexes (RFC 7541 Appendix A) and literals without
 * indexing, so no dynamic table is ever involved: :method GET (0x82), :scheme https (0x87),
 * :path (name index 4) and :authority (name index 1) as literals, then `extra` fields with
 * literal names, written byte for byte as given (which is how invalid ones get through).
 */
export function requestBlock(path: string, authority: string, extra: readonly [string, string][] = []): Buffer {
  return Buffer.concat([
    Buffer.from([0x82, 0x87]),
    Buffer.from([0x04]), literal(path),
    Buffer.from([0x01]), literal(authority),
    ...extra.flatMap(([name, value]) => [Buffer.from([0x00]), literal(name), literal(value)]),
  ]);
}

/** `:status` values in the static table (indexes 8 to 14). */
const STATIC_STATUS: Record<number, number> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };

/**
 * The `:status` of a response header block, when its first field says it plainly: a static
 * index, or a literal with name index 8 whose value is ASCII or Huffman-coded digits. Servers
 * put `:status` first (RFC 9113 §8.3); one taken from the dynamic table is not decoded.
 */
export function responseStatus(block: Buffer): number | undefined {
  const first = block[0];
  if (first === undefined) return undefined;
  if (first & 0x80) return STATIC_STATUS[first & 0x7f];
  // Literal with incremental indexing (01xxxxxx), without (0000xxxx) or never indexed (0001xxxx).
  const nameIndex = (first & 0xc0) === 0x40 ? first & 0x3f : first & 0x0f;
  if (nameIndex !== 8 || block.length < 3) return undefined;
  const huffman = (block[1]! & 0x80) !== 0;
  const value = block.subarray(2, 2 + (block[1]! & 0x7f));
  const text = huffman ? huffmanDigits(value) : value.toString('latin1');
  return text !== undefined && /^\d{3}$/.test(text) ? Number(text) : undefined;
}

/**
 * Huffman-coded digits (RFC 7541 Appendix B): '0'-'2' are the 5-bit codes 0-2, '3'-'9' the
 * 6-bit codes 0x19-0x1f; the rest of the last byte is padding of ones.
 */
function huffmanDigits(bytes: Buffer): string | undefined {
  let bits = '';
  for (const byte of bytes) bits += byte.toString(2).padStart(8, '0');
  let out = '';
  let at = 0;
  while (bits.length - at >= 5) {
    if (/^1+$/.test(bits.slice(at))) break;
    const five = parseInt(bits.slice(at, at + 5), 2);
    if (five <= 2) {
      out += String(five);
      at += 5;
      continue;
    }
    const six = parseInt(bits.slice(at, at + 6), 2);
    if (six < 0x19 || six > 0x1f || bits.length - at < 6) return undefined;
    out += String(six - 0x19 + 3);
    at += 6;
  }
  return out;
}

/** The header block of a HEADERS frame, without its padding and priority fields. */
export function headerBlock(headers: Frame): Buffer {
  let start = 0;
  let end = headers.payload.length;
  if (headers.flags & Flag.PADDED) {
    end -= headers.payload[0]!;
    start += 1;
  }
  if (headers.flags & Flag.PRIORITY) start += 5;
  return headers.payload.subarray(start, end);
}
