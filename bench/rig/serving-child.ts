import { childPids } from './memory.ts';
import type { Proc } from './processes.ts';
import { sleep } from './wait.ts';

/**
 * The process that serves behind `proc` (edgelb's worker under its primary, nginx's worker under
 * its master), once it exists; fails after `timeoutMs` or when `proc` is gone.
 */
export async function servingChild(proc: Proc, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const child = childPids(proc.pid)[0];
    if (child !== undefined) return child;
    if (Date.now() > deadline || !proc.isAlive()) throw new Error(`${proc.name}: no worker process`);
    await sleep(50);
  }
}
