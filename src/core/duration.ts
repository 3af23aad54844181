/**
 * Durations in the config are written as `1s`, `500ms`, `2m`, or a plain number of seconds.
 * Everything inside edgelb works in milliseconds.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;
/** Timers cannot wait longer (2^31 - 1 ms, about 24.8 days). */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** Milliseconds, or an explanation of why the value is not a duration. */
export function parseDuration(value: unknown): { ms: number } | { error: string } {
  let ms: number;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return { error: `expected a non-negative number of seconds, got ${value}` };
    ms = Math.round(value * 1000);
  } else if (typeof value === 'string') {
    const match = DURATION.exec(value.trim());
    if (!match) return { error: `"${value}" is not a duration (use e.g. "1s", "500ms", "2m")` };
    ms = Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
  } else {
    return { error: `expected a duration like "1s" or "500ms", got ${typeof value}` };
  }
  return ms <= MAX_DURATION_MS ? { ms } : { error: `${JSON.stringify(value)} is too long (at most 24 days)` };
}
