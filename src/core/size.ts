/**
 * Sizes in the config are written as `16k`, `10m`, `1g` (powers of 1024, an optional `b`) or a
 * plain number of bytes. Everything inside edgelb works in bytes.
 */
const UNIT: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
const SIZE = /^(\d+)\s*([kmg]?)b?$/i;

export function parseSize(value: unknown): { bytes: number } | { error: string } {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? { bytes: value } : { error: `expected a whole number of bytes, got ${value}` };
  }
  const match = typeof value === 'string' ? SIZE.exec(value.trim()) : null;
  if (match === null) return { error: `${JSON.stringify(value)} is not a size (use e.g. "16k", "10m", "1g" or bytes)` };
  const bytes = Number(match[1]) * UNIT[match[2]!.toLowerCase()]!;
  return Number.isSafeInteger(bytes) ? { bytes } : { error: `${JSON.stringify(value)} is too large` };
}
