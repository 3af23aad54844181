/**
 * Loaded with `node --import` by bench/compare-revisions.sh (HEAP_SAMPLING=1): in an edgelb
 * worker, SIGUSR1 starts V8's sampling heap profiler, counting objects that garbage collection
 * has already freed too, and SIGUSR2 stops it and writes the bytes sampled to
 * `$HEAP_SAMPLING_DIR/heap-PID.txt`. Bytes allocated per request move far less than CPU time on
 * a shared machine. Any other process (the primary) ignores it.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

interface SamplingNode {
  selfSize: number;
  children: SamplingNode[];
}

const totalBytes = (node: SamplingNode): number => node.children.reduce((sum, child) => sum + totalBytes(child), node.selfSize);

const out = process.env.HEAP_SAMPLING_DIR;
if (out !== undefined && process.argv[1]?.includes('worker-main')) {
  const session = new Session();
  session.connect();
  process.on('SIGUSR1', () => {
    void session.post('HeapProfiler.startSampling', {
      samplingInterval: 1024,
      includeObjectsCollectedByMinorGC: true,
      includeObjectsCollectedByMajorGC: true,
    });
  });
  process.on('SIGUSR2', async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(join(out, `heap-${process.pid}.txt`), String(totalBytes(profile.head as SamplingNode)));
  });
}
