/**
 * Loaded with `node --import` by bench/latency-breakdown.ts: in an edgelb worker, it writes
 * `$LOOP_DELAY_DIR/loop-PID.ready` once loaded; SIGUSR1 then starts measuring how late a 1 ms
 * timer fires (how long the event loop keeps a callback waiting), and SIGUSR2 writes the
 * percentiles to `$LOOP_DELAY_DIR/loop-PID.json`. Any other process (the primary) ignores it.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const out = process.env.LOOP_DELAY_DIR;
const RESOLUTION_MS = 1;

if (out !== undefined && process.argv[1]?.includes('worker-main')) {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  // The histogram records whole intervals between timer callbacks; what is past the timer's own
  // millisecond is the delay.
  const lateMs = (nanoseconds: number) => Math.max(0, nanoseconds / 1e6 - RESOLUTION_MS);
  process.on('SIGUSR1', () => {
    histogram.reset();
    histogram.enable();
  });
  process.on('SIGUSR2', () => {
    histogram.disable();
    const report = { p50: lateMs(histogram.percentile(50)), p99: lateMs(histogram.percentile(99)), max: lateMs(histogram.max) };
    const file = join(out, `loop-${process.pid}.json`);
    // Written whole or not at all, so the reader never sees an empty file.
    writeFileSync(`${file}.tmp`, JSON.stringify(report));
    renameSync(`${file}.tmp`, file);
  });
  writeFileSync(join(out, `loop-${process.pid}.ready`), '');
}
