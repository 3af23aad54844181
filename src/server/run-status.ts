import type { Config } from '../core/config.ts';
import { describeError } from '../core/errors.ts';
import { buildPools } from '../core/peer.ts';
import { redactRedisUrl, type RedisLocation } from '../core/redis-url.ts';
import { buildHealthReport } from '../core/shared-health/health-report.ts';
import { sharedHealthKeys } from '../core/shared-health/keys.ts';
import { connectWithin, openRedis } from '../store/redis-connection.ts';
import { readSnapshot } from '../store/redis-snapshot.ts';
import { renderHealthReport } from './status-table.ts';
import { watchFrames } from './watch-frames.ts';

const CONNECT_TIMEOUT_MS = 3_000;

/** `edgelb status`: reads the shared health once and prints it. Exit 1 when Redis cannot be read. */
export async function runStatus(config: Config, location: RedisLocation, json: boolean): Promise<number> {
  const redis = openRedis(location, 'edgelb-status', { retry: false });
  try {
    await connectWithin(redis, CONNECT_TIMEOUT_MS);
    const snapshot = await readSnapshot(redis, sharedHealthKeys(config.redis_prefix));
    const report = buildHealthReport(buildPools(config.upstreams), snapshot, Date.now());
    process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : renderHealthReport(report));
    return 0;
  } catch (error) {
    process.stderr.write(`edgelb: cannot read the health from ${redactRedisUrl(config.redis ?? '')}: ${describeError(error)}\n`);
    return 1;
  } finally {
    redis.disconnect();
  }
}

/** `edgelb status --watch` with `redis`: the shared health, read afresh for every frame. */
export async function watchStatus(config: Config, location: RedisLocation): Promise<number> {
  const redis = openRedis(location, 'edgelb-status');
  const keys = sharedHealthKeys(config.redis_prefix);
  const pools = buildPools(config.upstreams);
  await connectWithin(redis, CONNECT_TIMEOUT_MS).catch(() => {});
  try {
    return await watchFrames(async () => {
      try {
        return renderHealthReport(buildHealthReport(pools, await readSnapshot(redis, keys), Date.now()));
      } catch (error) {
        return `cannot read the health from ${redactRedisUrl(config.redis ?? '')}: ${describeError(error)}\n`;
      }
    });
  } finally {
    redis.disconnect();
  }
}
