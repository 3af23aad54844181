import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../src/core/config.ts';
import { Membership } from '../src/core/membership.ts';
import { buildPools, type Peer } from '../src/core/peer.ts';
import { decodeRegistration, encodeRegistration, RegistrationFollower, type Registration } from '../src/core/shared-health/registration.ts';
import { SharedHealthView } from '../src/core/shared-health/view.ts';
import { OutlierDetection } from '../src/edge/outlier-detection.ts';
import { SlowStart } from '../src/edge/slow-start.ts';
import { MemoryHealthStore } from '../src/store/memory.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {}, isLevelEnabled: () => false };

function membership(settings: Record<string, unknown> = { discovery: 'redis' }, peers: string[] = ['10.0.0.1:80']): Membership {
  const parsed = validateConfig({ redis: 'redis://127.0.0.1:6379', upstreams: { web: { peers, ...settings } } });
  assert.ok('config' in parsed, JSON.stringify(parsed));
  return new Membership(buildPools(parsed.config.upstreams));
}

const registration = (port: number, ttlMs = 3_000, weight = 1): Registration =>
  ({ pool: 'web', spec: { host: '10.0.0.9', port, weight, backup: false }, ttlMs, registeredAt: 1_000 });
const ids = (peers: readonly Peer[]) => peers.map((peer) => peer.id);
const up = { up: true, since: 1, checkedAt: 1, latencyMs: 1 };

describe('membership: peers that come and go', () => {
  it('a join replaces the pool\'s peers array; a registration cannot remove or replace a configured peer', () => {
    const m = membership();
    const pool = m.pools[0]!;
    const before = pool.peers;
    const joined = m.add('web', { host: '10.0.0.2', port: 80, weight: 2, backup: false }, 'redis');
    assert.equal(joined?.source, 'redis');
    assert.notEqual(pool.peers, before, 'a new array, so what was built over the old one is rebuilt');
    assert.deepEqual(ids(pool.peers), ['10.0.0.1:80', '10.0.0.2:80']);
    assert.equal(m.add('web', { host: '10.0.0.1', port: 80, weight: 5, backup: false }, 'redis'), undefined);
    assert.equal(m.remove('web', '10.0.0.1:80', 'redis'), undefined);
    assert.equal(pool.peers[0]!.weight, 1);
    assert.equal(m.add('web', { host: '10.0.0.2', port: 80, weight: 2, backup: false }, 'redis'), undefined, 'the same again changes nothing');
    const reweighted = m.add('web', { host: '10.0.0.2', port: 80, weight: 3, backup: false }, 'redis');
    assert.equal(reweighted?.weight, 3);
    assert.equal(reweighted?.addedAt, joined?.addedAt, 'a changed weight keeps the peer\'s age');
    assert.equal(m.add('nope', { host: '10.0.0.2', port: 80, weight: 1, backup: false }, 'redis'), undefined);
  });

  it('a joined peer is out of rotation until its first passed check, in the embedded store and in the shared view', () => {
    const m = membership();
    const memory = new MemoryHealthStore(m.pools);
    const view = new SharedHealthView(m.pools);
    m.listen(memory);
    m.listen(view);
    const peer = m.add('web', { host: '10.0.0.2', port: 80, weight: 1, backup: false }, 'redis')!;
    assert.deepEqual(ids(memory.healthyPeers('web')), ['10.0.0.1:80'], 'a configured peer never checked is in; a joined one is not');
    assert.deepEqual(ids(view.healthyPeers('web')), ['10.0.0.1:80']);
    memory.setState(peer, up);
    assert.deepEqual(ids(memory.healthyPeers('web')), ['10.0.0.1:80', '10.0.0.2:80']);
    const changes = view.applyState('p1', 'web/10.0.0.2:80', up);
    assert.deepEqual(changes.map((c) => [c.peer.id, c.up]), [['10.0.0.2:80', true]]);
    assert.deepEqual(ids(view.healthyPeers('web')), ['10.0.0.1:80', '10.0.0.2:80']);
    m.remove('web', peer.id, 'redis');
    assert.deepEqual(ids(memory.healthyPeers('web')), ['10.0.0.1:80']);
    assert.deepEqual(ids(view.healthyPeers('web')), ['10.0.0.1:80']);
    assert.equal(memory.state(peer), undefined, 'a peer that left keeps no state');
  });

  it('a joined peer slow-starts from its first passed check', () => {
    const m = membership({ discovery: 'redis', slow_start: '10s' });
    const memory = new MemoryHealthStore(m.pools);
    m.listen(memory);
    let now = 1_000_000;
    const slowStart = new SlowStart(memory, new OutlierDetection(quiet), () => now);
    now += 5_000;
    const peer = m.add('web', { host: '10.0.0.2', port: 80, weight: 10, backup: false }, 'redis', now)!;
    memory.setState(peer, { ...up, since: now, checkedAt: now });
    assert.equal(slowStart.weight(peer, 10_000), 1, 'a tenth of its weight at first');
    now += 5_000;
    assert.equal(slowStart.weight(peer, 10_000), 5);
    now += 5_000;
    assert.equal(slowStart.weight(peer, 10_000), 10);
  });

  it('a shared view that already holds a prober\'s verdict applies it when the peer joins', () => {
    const m = membership();
    const view = new SharedHealthView(m.pools);
    m.listen(view);
    view.replaceView('p1', new Map([['web/10.0.0.2:80', up]]));
    m.add('web', { host: '10.0.0.2', port: 80, weight: 1, backup: false }, 'redis');
    assert.deepEqual(ids(view.healthyPeers('web')), ['10.0.0.1:80', '10.0.0.2:80']);
  });
});

describe('following registrations', () => {
  it('pushes and reads add and remove registered peers, only in pools with discovery: redis', () => {
    const m = membership();
    const follower = new RegistrationFollower(m);
    assert.equal(follower.wanted, true);
    follower.registered(registration(1));
    follower.registered({ ...registration(2), pool: 'other' });
    assert.deepEqual(ids(m.pools[0]!.peers), ['10.0.0.1:80', '10.0.0.9:1']);
    follower.deregistered('web/10.0.0.9:1');
    assert.deepEqual(ids(m.pools[0]!.peers), ['10.0.0.1:80']);
    follower.replaceAll([registration(1), registration(2)], 60_000);
    assert.deepEqual(ids(m.pools[0]!.peers), ['10.0.0.1:80', '10.0.0.9:1', '10.0.0.9:2']);
    follower.replaceAll([registration(2)], 60_000);
    assert.deepEqual(ids(m.pools[0]!.peers), ['10.0.0.1:80', '10.0.0.9:2'], 'an expired registration leaves');
    assert.equal(new RegistrationFollower(membership({})).wanted, false);
  });

  it('after a reconnect, a peer missing from a read stays until the connection has been up for its TTL', () => {
    const m = membership();
    const follower = new RegistrationFollower(m);
    follower.replaceAll([registration(1, 3_000)], 60_000);
    follower.replaceAll([], 500);
    assert.deepEqual(ids(m.pools[0]!.peers), ['10.0.0.1:80', '10.0.0.9:1'], 'Redis back empty: its registrar has not announced it again yet');
    follower.replaceAll([], 3_000);
    assert.deepEqual(ids(m.pools[0]!.peers), ['10.0.0.1:80']);
  });

  it('a registration round-trips, and anything malformed is refused', () => {
    const r = registration(8080, 5_000, 4);
    assert.deepEqual(decodeRegistration('web/10.0.0.9:8080', encodeRegistration(r)), r);
    assert.deepEqual(decodeRegistration('web/[::1]:8080', encodeRegistration(r))?.spec.host, '::1');
    for (const [key, text] of [
      ['web/10.0.0.9:8080', 'not json'],
      ['web/10.0.0.9:8080', '{"weight":0,"backup":false,"ttlMs":1,"registeredAt":1}'],
      ['web/10.0.0.9:8080', '{"weight":1,"backup":false,"ttlMs":-1,"registeredAt":1}'],
      ['10.0.0.9:8080', encodeRegistration(r)],
      ['web/nowhere', encodeRegistration(r)],
    ] as const) assert.equal(decodeRegistration(key, text), undefined, `${key} ${text}`);
  });
});

describe('discovery in the config', () => {
  it('discovery allows a pool without peers; discovery: redis needs redis', () => {
    assert.ok('config' in validateConfig({ redis: 'redis://127.0.0.1:6379', upstreams: { web: { discovery: 'redis' } } }));
    assert.ok('config' in validateConfig({ upstreams: { web: { discovery: { dns: 'app:80' } } } }));
    assert.deepEqual(validateConfig({ upstreams: { web: { discovery: 'redis' } } }), {
      problems: ['upstreams.web.discovery: needs redis: the registrations live in the shared store'],
    });
  });
});
