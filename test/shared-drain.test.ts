import { Membership } from '../src/core/membership.ts';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { validateConfig } from '../src/core/config.ts';
import type { Log } from '../src/core/log.ts';
import { buildPools } from '../src/core/peer.ts';
import { parseRedisUrl, type RedisLocation } from '../src/core/redis-url.ts';
import { MemoryHealthStore } from '../src/store/memory.ts';
import { RedisHealthStore } from '../src/store/redis-health-store.ts';
import { startRedis, type RedisServer } from './support/redis.ts';
import { waitFor } from './support/wait-for.ts';

const pools = (() => {
  const result = validateConfig({ upstreams: { web: { peers: ['127.0.0.1:1', '127.0.0.1:2'] } } });
  assert.ok('config' in result);
  return buildPools(result.config.upstreams);
})();
const [one] = pools[0]!.peers;
const quiet: Log = { debug() {}, info() {}, warn() {}, error() {}, isLevelEnabled: () => false };
const ids = (store: { healthyPeers(pool: string): readonly { id: string }[] }) => store.healthyPeers('web').map((peer) => peer.id);

describe('draining a peer', () => {
  let redis: RedisServer | undefined;
  const stores: RedisHealthStore[] = [];
  after(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await redis?.kill();
  });

  it('in memory: takes the peer out of rotation whatever its health', () => {
    const store = new MemoryHealthStore(pools);
    store.setDrained(one!, true);
    assert.equal(store.isDrained(one!), true);
    assert.deepEqual(ids(store), ['127.0.0.1:2']);
    store.setDrained(one!, false);
    assert.deepEqual(ids(store), ['127.0.0.1:1', '127.0.0.1:2']);
  });

  it('in Redis: one edge drains, every edge follows, and a new edge loads it', async () => {
    redis = await startRedis();
    const location = parseRedisUrl(redis.url) as RedisLocation;
    const open = async () => {
      const store = await RedisHealthStore.open({ membership: new Membership(pools), location, prefix: 'edgelb:', log: quiet });
      stores.push(store);
      return store;
    };
    const [a, b] = [await open(), await open()];
    a.setDrained(one!, true);
    assert.deepEqual(ids(a), ['127.0.0.1:2'], 'at once on the edge that drained');
    await waitFor('the other edge to follow', () => b.isDrained(one!));
    assert.deepEqual(ids(b), ['127.0.0.1:2']);
    assert.deepEqual(await redis.client().smembers('edgelb:drained'), ['web/127.0.0.1:1']);
    const c = await open();
    assert.deepEqual(ids(c), ['127.0.0.1:2']);
    const otherFleet = await RedisHealthStore.open({ membership: new Membership(pools), location, prefix: 'other-fleet:', log: quiet });
    stores.push(otherFleet);
    assert.equal(otherFleet.isDrained(one!), false, 'a fleet with another prefix shares the Redis, not the state');
    b.setDrained(one!, false);
    await waitFor('every edge to put it back', () => !a.isDrained(one!) && !c.isDrained(one!));
    assert.deepEqual(ids(a), ['127.0.0.1:1', '127.0.0.1:2']);
  });
});
