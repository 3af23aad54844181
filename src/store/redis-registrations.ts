import type { Redis } from 'ioredis';
import type { SharedHealthKeys } from '../core/shared-health/keys.ts';
import { decodeRegistration, type Registration } from '../core/shared-health/registration.ts';

/**
 * Drops an index entry whose registration has expired, unless it was registered again between
 * the read and now: checked and removed in one step, so a fresh registration is never lost.
 */
const PRUNE = `if redis.call('EXISTS', KEYS[1]) == 0 then return redis.call('SREM', KEYS[2], ARGV[1]) end return 0`;

/** Every live registration; index entries left by expired ones are pruned on the way. */
export async function readRegistrations(redis: Redis, keys: SharedHealthKeys): Promise<Registration[]> {
  const members = await redis.smembers(keys.registered);
  if (members.length === 0) return [];
  const texts = await redis.mget(members.map((key) => keys.registration(key)));
  const registrations: Registration[] = [];
  const expired: string[] = [];
  members.forEach((key, i) => {
    const text = texts[i];
    if (text === null || text === undefined) expired.push(key);
    else {
      const registration = decodeRegistration(key, text);
      if (registration !== undefined) registrations.push(registration);
    }
  });
  await Promise.all(expired.map((key) => redis.eval(PRUNE, 2, keys.registration(key), keys.registered, key)));
  return registrations;
}
