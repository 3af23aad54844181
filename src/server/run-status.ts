import type { Config } from '../core/config.ts';
import { describeError } from '../core/errors.ts';
import { buildPools } from '../core/peer.ts';
import { describeRedis, type RedisLocation } from '../core/redis-url.ts';
import type { Redis } from 'ioredis';
import { Membership } from '../core/membership.ts';
import { buildHealthReport, type HealthReport } from '../core/shared-health/health-report.ts';
import { decodeEdgeSummary, fleetKey } from '../core/shared-health/fleet.ts';
import { RegistrationFollower } from '../core/shared-health/registration.ts';
import { readRegistrations } from '../store/redis-registrations.ts';
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
    const report = await readReport(config, redis);
    process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : renderHealthReport(report));
    return 0;
  } catch (error) {
    process.stderr.write(`edgelb: cannot read the health from ${describeRedis(config.redis)}: ${describeError(error)}\n`);
    return 1;
  } finally {
    redis.disconnect();
  }
}

/** `edgelb status --watch` with `redis`: the shared health, read afresh for every frame. */
export async function watchStatus(config: Config, location: RedisLocation): Promise<number> {
  const redis = openRedis(location, 'edgelb-status');
  await connectWithin(redis, CONNECT_TIMEOUT_MS).catch(() => {});
  try {
    return await watchFrames(async () => {
      try {
        return renderHealthReport(await readReport(config, redis));
      } catch (error) {
        return `cannot read the health from ${describeRedis(config.redis)}: ${describeError(error)}\n`;
      }
    });
  } finally {
    redis.disconnect();
  }
}

/** The configured peers and the registered ones, with the probers' views of them. */
async function readReport(config: Config, redis: Redis): Promise<HealthReport> {
  const keys = sharedHealthKeys(config.redis_prefix);
  const membership = new Membership(buildPools(config.upstreams));
  const registrations = new RegistrationFollower(membership);
  if (registrations.wanted) registrations.replaceAll(await readRegistrations(redis, keys), 0);
  const [snapshot, fleet] = await Promise.all([readSnapshot(redis, keys), redis.hgetall(fleetKey(config.redis_prefix))]);
  const edges = Object.values(fleet).map(decodeEdgeSummary).filter((edge) => edge !== undefined);
  return buildHealthReport(membership.pools, snapshot, Date.now(), edges);
}
