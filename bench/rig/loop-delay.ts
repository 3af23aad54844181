/**
 * Loaded with `node --import` by bench/latency-breakdown.ts: in an edgelb worker, SIGUSR1 starts
 * measuring how late a 1 ms timer fires (the length of the event loop's turns, which every
 * request waits through) and SIGUSR2 writes the percentiles to `$LOOP_DELAY_DIR/loop-PID.json`.
 * Any other process (the primary) ignores it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const out = process.env.LOOP_DELAY_DIR;
if (out !== undefined && process.argv[1]?.includes('worker-main')) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  const ms = (nanoseconds: number) => nanoseconds / 1e6;
  process.on('SIGUSR1', () => {
    histogram.reset();
    histogram.enable();
  });
  process.on('SIGUSR2', () => {
    histogram.disable();
    const report = { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) };
    writeFileSync(join(out, `loop-${process.pid}.json`), JSON.stringify(report));
  });
}
