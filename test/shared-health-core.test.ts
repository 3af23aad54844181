import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../src/core/config.ts';
import type { PeerState } from '../src/core/health.ts';
import { buildPools } from '../src/core/peer.ts';
import { parseRedisUrl } from '../src/core/redis-url.ts';
import { buildHealthReport } from '../src/core/shared-health/health-report.ts';
import { decodeMessage, encodeMessage, peerKey } from '../src/core/shared-health/keys.ts';
import { SharedHealthView } from '../src/core/shared-health/view.ts';
import { countVotes, verdict } from '../src/core/shared-health/vote.ts';

const pools = (() => {
  const result = validateConfig({ upstreams: { web: { peers: ['127.0.0.1:1', '127.0.0.1:2'] } } });
  assert.ok('config' in result);
  return buildPools(result.config.upstreams);
})();
const [one, two] = pools[0]!.peers;
const state = (up: boolean, at = 1000, reason?: string): PeerState => ({ up, since: at, checkedAt: at, latencyMs: 1, ...(reason ? { reason } : {}) });
const ids = (view: SharedHealthView) => view.healthyPeers('web').map((peer) => peer.id);

describe('majority vote', () => {
  it('needs more than half of the live probers that checked the peer; no vote is no verdict', () => {
    assert.equal(verdict(countVotes([state(true), state(true), state(false)])), true);
    assert.equal(verdict(countVotes([state(true), state(false)])), false, 'a tie is down');
    assert.equal(verdict(countVotes([state(false), undefined])), false);
    assert.equal(verdict(countVotes([undefined])), undefined);
  });
});

describe('an edge\'s local copy of the shared health', () => {
  it('follows the majority of live probers, and keeps its last set when no prober is live', () => {
    const view = new SharedHealthView(pools);
    assert.deepEqual(ids(view), ['127.0.0.1:1', '127.0.0.1:2'], 'peers never checked are in rotation');
    view.replaceAll({
      probers: [{ id: 'p1', host: 'h', pid: 1, startedAt: 0, lastSeen: 0, live: true }, { id: 'p2', host: 'h', pid: 2, startedAt: 0, lastSeen: 0, live: true }],
      views: new Map([['p1', new Map([[peerKey(one!), state(false)]])], ['p2', new Map([[peerKey(one!), state(false)]])]]),
      drained: new Set(),
    });
    assert.deepEqual(ids(view), ['127.0.0.1:2']);
    const changes = view.applyState('p3', peerKey(one!), state(true));
    assert.deepEqual(changes, [], 'one of three is not a majority; a prober that writes is live');
    assert.deepEqual([...view.liveProbers()].sort(), ['p1', 'p2', 'p3']);
    assert.deepEqual(view.applyState('p2', peerKey(one!), state(true, 2000)).map((c) => [c.peer.id, c.up]), [['127.0.0.1:1', true]]);
    assert.deepEqual(view.state(one!), { up: true, since: 2000, checkedAt: 2000, latencyMs: 1 });

    view.applyState('p1', peerKey(two!), state(false, 3000, 'connect ECONNREFUSED'));
    assert.deepEqual(ids(view), ['127.0.0.1:1'], 'a peer only one prober checked follows that prober');
  });

  it('goes stale, not empty, when every prober is gone, and excludes drained peers', () => {
    const view = new SharedHealthView(pools);
    view.applyState('p1', peerKey(two!), state(false));
    assert.deepEqual(ids(view), ['127.0.0.1:1']);
    assert.equal(view.stale, false);
    view.setLive(new Set());
    assert.equal(view.stale, true);
    assert.deepEqual(ids(view), ['127.0.0.1:1'], 'the last set stays');
    assert.equal(view.setDrained(peerKey(one!), true), true);
    assert.deepEqual(ids(view), []);
    assert.equal(view.isDrained(one!), true);
    view.setDrained(peerKey(one!), false);
    assert.deepEqual(ids(view), ['127.0.0.1:1']);
  });
});

describe('reads of the store racing pushed changes', () => {
  const live = (...idsOf: string[]) => idsOf.map((id) => ({ id, host: 'h', pid: 1, startedAt: 0, lastSeen: 0, live: true }));

  it('a flip pushed while a full re-read is in flight is not undone by the older read', () => {
    const view = new SharedHealthView(pools);
    view.applyState('p1', peerKey(one!), state(true, 1000));
    const mark = view.beginRead();
    // The re-read was answered before the prober wrote its flip; the push arrives first.
    const answer = { probers: live('p1'), views: new Map([['p1', new Map([[peerKey(one!), state(true, 1000)]])]]), drained: new Set<string>() };
    assert.deepEqual(view.applyState('p1', peerKey(one!), state(false, 2000, 'connect ECONNREFUSED')).map((c) => c.up), [false]);
    assert.deepEqual(view.replaceAll(answer, mark), [], 'no net change: the pushed flip stands');
    assert.deepEqual(ids(view), ['127.0.0.1:2']);
    // Once no read is in flight, a later full read is the truth again.
    view.replaceAll({ ...answer, views: new Map([['p1', new Map([[peerKey(one!), state(true, 3000)]])]]) }, view.beginRead());
    assert.deepEqual(ids(view), ['127.0.0.1:1', '127.0.0.1:2']);
  });

  it('a prober that left, or a flip, while its view or the heartbeats were being read stays applied', () => {
    const view = new SharedHealthView(pools);
    view.replaceAll({ probers: live('p1', 'p2'), views: new Map([['p1', new Map([[peerKey(one!), state(false)]])], ['p2', new Map([[peerKey(one!), state(false)]])]]), drained: new Set() });
    const reload = view.beginRead();
    view.proberLeft('p2');
    view.replaceView('p2', new Map([[peerKey(one!), state(false)]]), reload);
    assert.deepEqual([...view.liveProbers()], ['p1'], 'the read of its view does not bring a prober that left back');

    const heartbeats = view.beginRead();
    view.applyState('p3', peerKey(two!), state(false));
    view.setLive(new Set(['p1']), heartbeats);
    assert.deepEqual([...view.liveProbers()].sort(), ['p1', 'p3'], 'a prober heard from during the read counts');
    assert.deepEqual(ids(view), []);
  });

  it('a failed read leaves nothing behind', () => {
    const view = new SharedHealthView(pools);
    const mark = view.beginRead();
    view.applyState('p1', peerKey(one!), state(false));
    view.abandonRead(mark);
    view.replaceAll({ probers: live('p1'), views: new Map([['p1', new Map([[peerKey(one!), state(true, 5000)]])]]), drained: new Set() }, view.beginRead());
    assert.deepEqual(ids(view), ['127.0.0.1:1', '127.0.0.1:2']);
  });
});

describe('shared health messages and reports', () => {
  it('round-trips messages and ignores malformed ones', () => {
    const message = { type: 'state', prober: 'p1', peer: 'web/127.0.0.1:1', state: state(false, 5, 'timeout'), writtenAt: 6 } as const;
    assert.deepEqual(decodeMessage(encodeMessage(message)), message);
    for (const bad of ['', '{', 'null', '{"type":"state"}', '{"type":"drain","peer":"x","drained":"yes","writtenAt":1}', '{"type":"other"}']) {
      assert.equal(decodeMessage(bad), undefined, bad);
    }
  });

  it('reports votes, views, drains and staleness as plain data', () => {
    const report = buildHealthReport(pools, {
      probers: [{ id: 'p1', host: 'h', pid: 1, startedAt: 0, lastSeen: 9, live: true }, { id: 'p0', host: 'h', pid: 2, startedAt: 0, lastSeen: 1, live: false }],
      views: new Map([['p1', new Map([[peerKey(one!), state(false, 7, 'connect ECONNREFUSED')]])]]),
      drained: new Set([peerKey(two!)]),
    }, 10);
    assert.equal(report.stale, false);
    assert.deepEqual(report.pools[0]!.peers.map((p) => [p.state, p.drained, p.inRotation, p.reason]), [
      ['down', false, false, 'connect ECONNREFUSED'],
      ['unknown', true, false, undefined],
    ]);
  });
});

describe('redis URLs', () => {
  it('reads scheme, credentials, host, port and database', () => {
    assert.deepEqual(parseRedisUrl('redis://127.0.0.1:6380/2'), { tls: false, host: '127.0.0.1', port: 6380, db: 2 });
    assert.deepEqual(parseRedisUrl('rediss://user:p%40ss@cache.example/'), { tls: true, host: 'cache.example', port: 6379, db: 0, username: 'user', password: 'p@ss' });
    assert.deepEqual(parseRedisUrl('redis://[::1]:7000'), { tls: false, host: '::1', port: 7000, db: 0 });
    assert.match((parseRedisUrl('redis:///0') as { error: string }).error, /no host/);
    assert.match((parseRedisUrl('redis://h/x') as { error: string }).error, /database "x"/);
  });

  it('never repeats a password in an error, and rejects bad percent-encoding instead of throwing', () => {
    const unparsable = validateConfig({ redis: 'redis://:s3cr@t@cache:99999/0', upstreams: { web: { peers: ['127.0.0.1:1'] } } });
    assert.ok('problems' in unparsable);
    assert.match(unparsable.problems.join('\n'), /^redis: .*not a URL/m);
    assert.doesNotMatch(unparsable.problems.join('\n'), /s3cr/);
    const badEscape = validateConfig({ redis: 'redis://user:100%@cache:6379/0', upstreams: { web: { peers: ['127.0.0.1:1'] } } });
    assert.ok('problems' in badEscape);
    assert.match(badEscape.problems.join('\n'), /^redis: .*percent-encoding/m);
  });
});
