/**
 * Wall-clock time in milliseconds with sub-millisecond precision. Flip messages carry it so an
 * edge can tell how long a flip took to reach it from a prober on the same machine clock.
 */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
