import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../src/core/config.ts';
import type { Log } from '../src/core/log.ts';
import { buildPools, type Peer, type Pool } from '../src/core/peer.ts';
import { createSelection } from '../src/core/selection/index.ts';
import { ConsistentHash } from '../src/core/selection/consistent-hash.ts';
import { hashKeyOf, parseHashKey } from '../src/core/selection/hash-key.ts';
import { LeastRequest } from '../src/core/selection/least-request.ts';
import { PeakEwma } from '../src/core/selection/peak-ewma.ts';
import { RandomChoice } from '../src/core/selection/random-choice.ts';
import { OutlierDetection } from '../src/edge/outlier-detection.ts';
import { PeerRecord, PeerStats } from '../src/edge/peer-stats.ts';
import { SlowStart } from '../src/edge/slow-start.ts';
import { RoundRobin } from '../src/core/selection/round-robin.ts';

const log: Log & { lines: string[] } = {
  lines: [],
  debug() {},
  info(_fields, message) {
    this.lines.push(message);
  },
  warn(_fields, message) {
    this.lines.push(message);
  },
  error() {},
  isLevelEnabled: () => false,
};

function pool(peers: unknown[], settings: Record<string, unknown> = {}): Pool {
  const parsed = validateConfig({ upstreams: { p: { peers, ...settings } } });
  assert.ok('config' in parsed, JSON.stringify(parsed));
  return buildPools(parsed.config.upstreams)[0]!;
}

const port = (peer: Peer | undefined) => peer?.port;
const first = (candidates: Iterable<Peer>) => port(candidates[Symbol.iterator]().next().value);
const all = () => true;
const noLoad = { inFlight: () => 0, peakLatencyMs: () => undefined };

describe('selection', () => {
  it('round robin is smooth by weight: 5:1:1 goes a a b a c a a, and equal weights take turns', () => {
    const weighted = pool([{ addr: '127.0.0.1:1', weight: 5 }, '127.0.0.1:2', '127.0.0.1:3']);
    const selection = createSelection(weighted, noLoad);
    const order = Array.from({ length: 14 }, () => first(selection.candidates(undefined, all)));
    assert.deepEqual(order, [1, 1, 2, 1, 3, 1, 1, 1, 1, 2, 1, 3, 1, 1]);
    const even = createSelection(pool(['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3']), noLoad);
    assert.deepEqual(Array.from({ length: 6 }, () => first(even.candidates(undefined, all))), [1, 2, 3, 1, 2, 3]);
  });

  it('round robin shares a peer\'s turns among the others by weight while it is not accepted, and lists fallbacks after the choice', () => {
    const selection = createSelection(pool([{ addr: '127.0.0.1:1', weight: 2 }, '127.0.0.1:2', '127.0.0.1:3']), noLoad);
    const notTwo = (peer: Peer) => peer.port !== 2;
    const order = Array.from({ length: 6 }, () => first(selection.candidates(undefined, notTwo)));
    assert.deepEqual(order.filter((p) => p === 1).length, 4);
    assert.deepEqual(order.filter((p) => p === 3).length, 2);
    assert.deepEqual([...selection.candidates(undefined, all)].map(port).sort(), [1, 2, 3], 'every accepted peer is a candidate, once');
  });

  it('backups take requests only while no primary is accepted, not even as fallbacks', () => {
    const selection = createSelection(pool(['127.0.0.1:1', '127.0.0.1:2', { addr: '127.0.0.1:9', backup: true }]), noLoad);
    for (let i = 0; i < 4; i++) assert.ok(![...selection.candidates(undefined, all)].some((peer) => peer.port === 9));
    const primariesDown = (peer: Peer) => peer.backup;
    assert.deepEqual([...selection.candidates(undefined, primariesDown)].map(port), [9]);
  });

  it('least request picks the lighter of two random peers, by in-flight requests per unit of weight', () => {
    const peers = pool(['127.0.0.1:1', '127.0.0.1:2', { addr: '127.0.0.1:3', weight: 4 }]).peers;
    const inFlight = new Map([[1, 10], [2, 2], [3, 4]]);
    const load = { inFlight: (peer: Peer) => inFlight.get(peer.port)! };
    // Each draw pair: (first index, offset of the second among the rest).
    const draws = [[0, 0], [0, 0.99], [0.5, 0], [0.5, 0.99], [0.99, 0], [0.99, 0.99]];
    const chosen = draws.map(([a, b]) => {
      const values = [a!, b!];
      return first(new LeastRequest(peers, load, () => values.shift()!).candidates(undefined, all));
    });
    // The pairs drawn: 1-2, 1-3, 2-3, 2-1, 3-1, 3-2. 1 against 2 → 2 (10 against 2 in flight);
    // against 3 → 3 (10 against 1 per unit of weight); 2 against 3 → 3 (2 against 1).
    assert.deepEqual(chosen, [2, 3, 3, 2, 3, 3]);
    assert.ok(!chosen.includes(1), 'the most loaded peer is never chosen while two are drawn');
    const single = (peer: Peer) => peer.port === 1;
    assert.deepEqual([...new LeastRequest(peers, load).candidates(undefined, single)].map(port), [1]);
  });

  it('random picks each peer with the chance of its weight', () => {
    const peers = pool([{ addr: '127.0.0.1:1', weight: 3 }, '127.0.0.1:2']).peers;
    const counts = new Map<number, number>();
    for (let i = 0; i < 400; i++) {
      const point = i / 400;
      const choice = first(new RandomChoice(peers, () => point).candidates(undefined, all))!;
      counts.set(choice, (counts.get(choice) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(counts), { 1: 300, 2: 100 });
  });
});

describe('selection by latency and by key', () => {
  it('ewma prefers the lower latency × (in flight + 1) of two random peers, and tries unmeasured peers', () => {
    const peers = pool(['127.0.0.1:1', '127.0.0.1:2']).peers;
    const latency = new Map<number, number | undefined>([[1, 20], [2, 1]]);
    const inFlight = new Map([[1, 0], [2, 0]]);
    const view = { inFlight: (peer: Peer) => inFlight.get(peer.port)!, peakLatencyMs: (peer: Peer) => latency.get(peer.port) };
    const pick = () => first(new PeakEwma(peers, view, () => 0).candidates(undefined, all));
    assert.equal(pick(), 2, 'faster wins');
    inFlight.set(2, 30);
    assert.equal(pick(), 1, '1 ms × 31 in flight costs more than 20 ms × 1');
    latency.set(1, undefined);
    inFlight.set(2, 0);
    assert.equal(pick(), 1, 'a peer never measured counts as fast, so it gets measured');
  });

  it('the peak EWMA takes a slower answer at once and forgets it over seconds', () => {
    const record = new PeerRecord();
    record.observePeak(2, 0);
    record.observePeak(50, 1);
    assert.equal(record.peakLatencyMs, 50, 'a peak is taken at once');
    record.observePeak(2, 1 + 10_000);
    assert.ok(Math.abs(record.peakLatencyMs - (50 / Math.E + 2 * (1 - 1 / Math.E))) < 1e-9, 'after the decay time the peak counts for 1/e');
  });

  it('a peak no new sample came for decays as it is read, and a sample older than 10 s no longer counts', () => {
    const [peer] = pool(['127.0.0.1:1']).peers as [Peer];
    const stats = new PeerStats();
    stats.of(peer).observePeak(1_000, 1_000);
    assert.equal(stats.peakLatencyMs(peer, 1_000), 1_000);
    assert.ok(Math.abs(stats.peakLatencyMs(peer, 6_000)! - 1_000 / Math.sqrt(Math.E)) < 1e-9, 'half a decay time later: e^-0.5 of it');
    assert.equal(stats.peakLatencyMs(peer, 11_001), undefined, 'stale: the peer looks fast and gets a request to be measured by');
    stats.of(peer).observePeak(1, 11_001);
    assert.equal(stats.peakLatencyMs(peer, 11_001), 1, 'and that request\'s answer is all that counts then');
  });

  it('consistent_hash keeps a key on its peer and moves only the keys of a peer that leaves', () => {
    const peers = pool(['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3', '127.0.0.1:4']).peers;
    const ring = new ConsistentHash(peers);
    const keys = Array.from({ length: 4000 }, (_, i) => `user-${i}`);
    const before = keys.map((key) => first(ring.candidates(key, all)));
    assert.deepEqual(keys.slice(0, 50).map((key) => first(ring.candidates(key, all))), before.slice(0, 50), 'the same key, the same peer');
    const shares = [1, 2, 3, 4].map((p) => before.filter((owner) => owner === p).length / keys.length);
    for (const share of shares) assert.ok(share > 0.15 && share < 0.35, `even shares: ${shares.join(', ')}`);
    const withoutThree = (peer: Peer) => peer.port !== 3;
    const after = keys.map((key) => first(ring.candidates(key, withoutThree)));
    const moved = keys.filter((_, i) => after[i] !== before[i]).length;
    assert.equal(moved, before.filter((owner) => owner === 3).length, 'only the leaving peer\'s keys move');
    assert.ok(moved / keys.length < 0.35, `about 1/4 of the keys moved: ${moved}`);
    assert.deepEqual(new Set([...ring.candidates('x', all)].map(port)).size, 4, 'the fallbacks are the other peers, once each');
  });

  it('consistent_hash respects weights', () => {
    const ring = new ConsistentHash(pool([{ addr: '127.0.0.1:1', weight: 3 }, '127.0.0.1:2']).peers);
    const owners = Array.from({ length: 4000 }, (_, i) => first(ring.candidates(`k${i}`, all)));
    const heavy = owners.filter((owner) => owner === 1).length / owners.length;
    assert.ok(heavy > 0.68 && heavy < 0.82, `weight 3 of 4 takes about 75%: ${heavy}`);
  });

  it('reads the hash key from the client address, the path, a header or a cookie, falling back to the address', () => {
    const request = (headers: Record<string, string>, path = '/a/b?x=1') => ({ method: 'GET', authority: undefined, path, header: (name: string) => headers[name], clientAddress: '203.0.113.7' });
    assert.equal(hashKeyOf(request({}), parseHashKey('client_ip')!), '203.0.113.7');
    assert.equal(hashKeyOf(request({}), parseHashKey('path')!), '/a/b');
    assert.equal(hashKeyOf(request({ 'x-user': 'ann' }), parseHashKey('header:X-User')!), 'ann');
    assert.equal(hashKeyOf(request({ cookie: 'a=1; session=s-42; b=2' }), parseHashKey('cookie:session')!), 's-42');
    assert.equal(hashKeyOf(request({}), parseHashKey('cookie:session')!), '203.0.113.7');
    assert.equal(parseHashKey('header:'), undefined);
    assert.equal(parseHashKey('ip'), undefined);
  });
});

describe('slow start', () => {
  it('ramps a peer that came back from 10% to its full weight over the period; peers up since before the start are at full weight', () => {
    let now = 1_000_000;
    const [old, back] = pool(['127.0.0.1:1', { addr: '127.0.0.1:2', weight: 2 }]).peers as [Peer, Peer];
    const since = new Map([[old, now - 60_000]]);
    const store = { state: (peer: Peer) => (since.has(peer) ? { up: true, since: since.get(peer)! } : undefined) } as never;
    const outliers = new OutlierDetection(log);
    const slowStart = new SlowStart(store, outliers, () => now);
    assert.equal(slowStart.weight(old, 10_000), 1);
    now += 5_000;
    since.set(back, now);
    assert.equal(slowStart.weight(back, 10_000), 0.2, '10% of weight 2 on its return');
    now += 5_000;
    assert.equal(slowStart.weight(back, 10_000), 1, 'half-way: half its weight');
    now += 5_000;
    assert.equal(slowStart.weight(back, 10_000), 2);
    const selection = new RoundRobin([old, back], (peer) => (peer === back ? 0.25 : 1));
    const order = Array.from({ length: 10 }, () => first(selection.candidates(undefined, all)));
    assert.equal(order.filter((p) => p === 2).length, 2, 'a quarter of the weight of the other: 1 in 5');
  });
});

describe('outlier detection', () => {
  const settings = { outlier_detection: { consecutive_failures: 3, base_ejection_time: '10s', max_ejection_time: '25s', max_ejected_percent: 50 } };

  it('ejects a peer at the threshold, lets it back when the time is up, and doubles the time on the next ejection, up to the maximum', () => {
    let now = 0;
    const p = pool(['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3', '127.0.0.1:4'], settings);
    const outliers = new OutlierDetection(log, () => now);
    const [a] = p.peers as [Peer];
    outliers.failed(p, a, 2, 'answered 503');
    assert.equal(outliers.isEjected(a), false, 'below the threshold');
    outliers.failed(p, a, 3, 'answered 503');
    assert.equal(outliers.isEjected(a), true);
    assert.deepEqual([...createSelection(p, noLoad).candidates(undefined, outliers.accept(p, all))].map(port).sort(), [2, 3, 4]);
    now = 9_999;
    assert.equal(outliers.isEjected(a), true);
    now = 10_000;
    assert.equal(outliers.isEjected(a), false, 'back after base_ejection_time');
    assert.equal(outliers.accept(p, all), all, 'nothing out: the filter is the healthy one itself');
    outliers.failed(p, a, 3, 'timeout');
    now = 29_999;
    assert.equal(outliers.isEjected(a), true, 'the second ejection lasts twice as long');
    now = 30_000;
    assert.equal(outliers.isEjected(a), false);
    outliers.failed(p, a, 3, 'timeout');
    now = 54_999;
    assert.equal(outliers.isEjected(a), true, 'the third would be 40 s: capped at max_ejection_time');
    now = 55_000;
    assert.equal(outliers.isEjected(a), false);
    assert.equal(outliers.ejections(a), 3);
    now = 55_000 + 25_001;
    outliers.failed(p, a, 3, 'timeout');
    now += 10_000;
    assert.equal(outliers.isEjected(a), false, 'well for a whole max_ejection_time: back to the base time');
  });

  it('never ejects more than max_ejected_percent of a pool, but at least one peer', () => {
    const p = pool(['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'], settings);
    const outliers = new OutlierDetection(log, () => 0);
    for (const peer of p.peers) outliers.failed(p, peer, 5, 'answered 502');
    assert.deepEqual(p.peers.map((peer) => outliers.isEjected(peer)), [true, false, false], '50% of 3 rounds down to one');
    const two = pool(['127.0.0.1:1', '127.0.0.1:2'], { outlier_detection: { max_ejected_percent: 10 } });
    const few = new OutlierDetection(log, () => 0);
    for (const peer of two.peers) few.failed(two, peer, 5, 'answered 502');
    assert.deepEqual(two.peers.map((peer) => few.isEjected(peer)), [true, false], 'at least one, as in Envoy');
  });

  it('counts the failure statuses the pool names, and none without outlier_detection', () => {
    const outliers = new OutlierDetection(log);
    assert.equal(outliers.isFailureStatus(pool(['127.0.0.1:1'], settings), 503), true);
    assert.equal(outliers.isFailureStatus(pool(['127.0.0.1:1'], settings), 500), false, 'the default list is 502, 503, 504');
    assert.equal(outliers.isFailureStatus(pool(['127.0.0.1:1']), 503), false);
  });
});
