import type { Config } from '../core/config.ts';
import { redisLocation, type RedisLocation } from '../core/redis-url.ts';

/** The Redis that `probe` and `status` need, or why the config does not name one. */
export function sharedStoreLocation(config: Config, command: string): RedisLocation | { error: string } {
  if (config.redis === undefined) {
    const or = command === 'status' ? ' (or, in embedded mode, an admin listener: admin: { listen: 127.0.0.1:9900 })' : '';
    return { error: `redis: "edgelb ${command}" needs the shared store; set redis: redis://host:port/db${or}` };
  }
  const location = redisLocation(config.redis);
  return 'error' in location ? { error: `redis: ${location.error}` } : location;
}
