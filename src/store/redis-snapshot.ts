import type { Redis } from 'ioredis';
import type { PeerState } from '../core/health.ts';
import { decodePeerState, decodeProberInfo, type ProberInfo, type SharedHealthKeys } from '../core/shared-health/keys.ts';
import type { SharedHealthSnapshot } from '../core/shared-health/snapshot.ts';

/** The known probers and which of them have a heartbeat now. */
export async function readProbers(redis: Redis, keys: SharedHealthKeys): Promise<Array<ProberInfo & { live: boolean }>> {
  const entries = await redis.hgetall(keys.probers);
  const infos = Object.values(entries).map(decodeProberInfo).filter((info) => info !== undefined);
  if (infos.length === 0) return [];
  const beats = await redis.mget(infos.map((info) => keys.heartbeat(info.id)));
  return infos.map((info, i) => ({ ...info, live: beats[i] !== null })).sort((a, b) => a.id.localeCompare(b.id));
}

export async function readView(redis: Redis, keys: SharedHealthKeys, prober: string): Promise<Map<string, PeerState>> {
  const view = new Map<string, PeerState>();
  for (const [key, text] of Object.entries(await redis.hgetall(keys.view(prober)))) {
    const state = decodePeerState(text);
    if (state !== undefined) view.set(key, state);
  }
  return view;
}

/** Reads probers, the views of the live ones, and the drained set. */
export async function readSnapshot(redis: Redis, keys: SharedHealthKeys): Promise<SharedHealthSnapshot> {
  const [probers, drained] = await Promise.all([readProbers(redis, keys), redis.smembers(keys.drained)]);
  const live = probers.filter((prober) => prober.live);
  const views = await Promise.all(live.map((prober) => readView(redis, keys, prober.id)));
  return { probers, views: new Map(live.map((prober, i) => [prober.id, views[i]!])), drained: new Set(drained) };
}
