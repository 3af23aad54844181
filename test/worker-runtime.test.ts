import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { killAll, startEdgelb, startUpstream, type Edgelb } from './support/processes.ts';
import { waitFor } from './support/wait-for.ts';

/** The Node flags a worker process runs with, from /proc. */
async function workerArgs(lb: Edgelb): Promise<string[]> {
  const serving = await waitFor('the worker to log "worker serving"', () => lb.logs.find((line) => line.msg === 'worker serving'));
  return readFileSync(`/proc/${Number(serving.pid)}/cmdline`, 'utf8').split('\0');
}

describe('worker runtime', () => {
  after(killAll);

  it('forks workers with a bounded V8 young generation', async () => {
    const upstream = await startUpstream('a');
    const lb = await startEdgelb({ upstreams: { web: { peers: [upstream.address] } } }, { LOG_LEVEL: 'info' });
    assert.ok((await workerArgs(lb)).includes('--max-semi-space-size=16'));
  });

  it("leaves the young generation to an operator's own NODE_OPTIONS", async () => {
    const upstream = await startUpstream('b');
    const lb = await startEdgelb(
      { upstreams: { web: { peers: [upstream.address] } } },
      { LOG_LEVEL: 'info', NODE_OPTIONS: '--max-semi-space-size=4' },
    );
    const args = await workerArgs(lb);
    assert.ok(!args.some((arg) => arg.startsWith('--max-semi-space-size')), `worker args: ${args.join(' ')}`);
  });
});
