/**
 * Durations in the config are written as `1s`, `500ms`, `2m`, or a plain number of seconds.
 * Everything inside edgelb works in milliseconds.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;

/** Milliseconds, or an explanation of why the value is not a duration. */
export function parseDuration(value: unknown): { ms: number } | { error: string } {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0
      ? { ms: Math.round(value * 1000) }
      : { error: `expected a non-negative number of seconds, got ${value}` };
  }
  if (typeof value !== 'string') return { error: `expected a duration like "1s" or "500ms", got ${typeof value}` };
  const match = DURATION.exec(value.trim());
  if (!match) return { error: `"${value}" is not a duration (use e.g. "1s", "500ms", "2m")` };
  return { ms: Math.round(Number(match[1]) * UNIT_MS[match[2]!]!) };
}
