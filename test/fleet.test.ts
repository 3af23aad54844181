import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, afterEach, describe, it } from 'node:test';
import type { HealthReport } from '../src/core/shared-health/health-report.ts';
import { killAll, runEdgelb, startEdgelb } from './support/processes.ts';
import { startRedis, type RedisServer } from './support/redis.ts';
import { fleetConfig, startProber, startUpstreams } from './support/shared-health.ts';
import { waitFor } from './support/wait-for.ts';

const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

async function report(configFile: string): Promise<HealthReport> {
  const { code, stdout, stderr } = await runEdgelb(['status', '-c', configFile, '--json']);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout) as HealthReport;
}

async function send(url: string, count: number, path = '/'): Promise<void> {
  for (let i = 0; i < count; i++) await (await fetch(`${url}${path}`)).text();
}

describe('the fleet view', () => {
  let redis: RedisServer | undefined;
  afterEach(async () => {
    killAll();
    await redis?.kill();
  });
  after(killAll);

  it('edgelb status lists every edge with its version, uptime, requests, errors and state', async () => {
    redis = await startRedis();
    const [a] = await startUpstreams('a');
    const config = fleetConfig(redis.url, [a!]);
    await startProber('p1', config);
    const [one, two] = [await startEdgelb(config), await startEdgelb(config)];
    await send(one.url, 30);
    await a!.behave(500);
    await send(two.url, 20);
    const counted = await waitFor('both edges to report their requests', async () => {
      const edges = (await report(one.configFile)).edges;
      return edges.length === 2 && edges.every((edge) => edge.live) && edges.map((edge) => edge.requests).sort((x, y) => x - y).join() === '20,30' && edges;
    }, { timeoutMs: 10_000 });
    assert.equal(new Set(counted.map((edge) => edge.edge)).size, 2, 'two edges, not two workers of one');
    for (const edge of counted) assert.equal(edge.version, version);
    assert.deepEqual(counted.map((edge) => edge.errors).sort(), [0, 20]);
    const table = await runEdgelb(['status', '-c', one.configFile]);
    assert.match(table.stdout, /^edges$/m);
    assert.equal(table.stdout.split('\n').filter((line) => new RegExp(`\\s live\\s+${version.replaceAll('.', '\\.')}\\s`).test(line)).length, 2);
    assert.match(table.stdout, /\s20\s+100\.00%\s/);

    await two.kill('SIGTERM');
    await waitFor('the stopped edge to leave the view', async () => (await report(one.configFile)).edges.length === 1, { timeoutMs: 10_000 });
  });
});
