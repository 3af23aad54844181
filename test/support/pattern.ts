import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

/**
 * A deterministic byte stream for large transfers: byte i is a function of i, so both ends
 * can produce or check any amount of it without storing it.
 */
const BLOCK = Buffer.alloc(1 << 16);
for (let i = 0; i < BLOCK.length; i++) BLOCK[i] = (i * 31 + (i >> 8)) & 0xff;

export function patternChunk(offset: number, length: number): Buffer {
  const start = offset % BLOCK.length;
  if (start + length <= BLOCK.length) return BLOCK.subarray(start, start + length);
  const out = Buffer.allocUnsafe(length);
  for (let written = 0; written < length;) {
    const from = (offset + written) % BLOCK.length;
    const n = Math.min(BLOCK.length - from, length - written);
    BLOCK.copy(out, written, from, from + n);
    written += n;
  }
  return out;
}

/** The sha256 of the first `total` bytes of the pattern. */
export function patternSha256(total: number): string {
  const hash = createHash('sha256');
  for (let offset = 0; offset < total; offset += BLOCK.length) {
    hash.update(patternChunk(offset, Math.min(BLOCK.length, total - offset)));
  }
  return hash.digest('hex');
}

/**
 * The first `total` bytes of the pattern as a stream of 64 KiB chunks (a streamed request body).
 * `onPull` learns how many bytes the consumer has taken so far.
 */
export function patternStream(total: number, onPull?: (pulled: number) => void): Readable {
  return Readable.from((function* () {
    for (let offset = 0; offset < total; offset += BLOCK.length) {
      const chunk = patternChunk(offset, Math.min(BLOCK.length, total - offset));
      onPull?.(offset + chunk.length);
      yield chunk;
    }
  })(), { objectMode: false, highWaterMark: 1 });
}
