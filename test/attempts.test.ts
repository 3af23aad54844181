import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../src/core/config.ts';
import type { Log } from '../src/core/log.ts';
import { buildPools, type Peer } from '../src/core/peer.ts';
import { buildRoutes } from '../src/core/routing/build-routes.ts';
import { RoundRobin } from '../src/core/selection/round-robin.ts';
import type { AttemptFailure, FailureKind } from '../src/edge/attempt-failure.ts';
import { Attempts } from '../src/edge/attempts.ts';
import { Exchange, type RoutedExchange } from '../src/edge/exchange.ts';
import { OutlierDetection } from '../src/edge/outlier-detection.ts';
import { PeerStats } from '../src/edge/peer-stats.ts';
import { RetryBudget } from '../src/edge/retry-budget.ts';

const quiet: Log & { warnings: string[] } = {
  warnings: [],
  debug() {},
  info() {},
  warn(_fields, message) {
    this.warnings.push(message);
  },
  error() {},
  isLevelEnabled: () => false,
};

/** A pool of `count` peers (`retries` as configured) and one request to it. */
function setUp(count: number, { retries, method = 'GET', candidates }: { retries?: number; method?: string; candidates?: (peers: readonly Peer[]) => Iterable<Peer> } = {}) {
  const parsed = validateConfig({ upstreams: { p: { peers: Array.from({ length: count }, (_, i) => `127.0.0.1:${i + 1}`), ...(retries === undefined ? {} : { retries }) } } });
  assert.ok('config' in parsed);
  const pools = buildPools(parsed.config.upstreams);
  const route = buildRoutes(undefined, pools).routes[0]!;
  const peers = route.pool.peers;
  const context = { req: { header: () => undefined } } as never;
  const request = { method, authority: undefined, path: '/', header: () => undefined, clientAddress: '127.0.0.1' };
  const exchange = new Exchange(route, candidates?.(peers) ?? new RoundRobin(peers).candidates(undefined, () => true), context, request) as RoutedExchange;
  return { exchange, peers, stats: new PeerStats() };
}

/**
 * A fake forwarder: makes each attempt by looking up the peer's scripted outcome (a failure kind,
 * or a status), the way a runtime's forwarder reports to the driver. Returns the peers tried and
 * what the client got.
 */
function drive(attempts: Attempts, outcomes: Record<string, FailureKind | number>, bodySent = false): { tried: string[]; answer: number | string } {
  const tried: string[] = [];
  for (let peer = attempts.next(); peer !== undefined; peer = attempts.next()) {
    const port = peer.id.split(':')[1]!;
    tried.push(port);
    const outcome = outcomes[port] ?? 200;
    if (typeof outcome === 'number') {
      attempts.answered(1, outcome);
      attempts.ended();
      return { tried, answer: outcome };
    }
    const failure: AttemptFailure = { kind: outcome, bodySent, error: new Error(outcome) };
    if (!attempts.failed(failure)) break;
  }
  return { tried, answer: attempts.error().status };
}

describe('the attempt driver', () => {
  it('moves past refused connections to an answer, and counts the attempts', () => {
    const { exchange, stats } = setUp(3);
    const result = drive(new Attempts(exchange, { stats, outliers: new OutlierDetection(quiet), retryBudget: new RetryBudget(new PeerStats()), hasRoom: () => true, log: quiet, logPeers: false }), { 1: 'connect_failed', 2: 'connect_timeout' });
    assert.deepEqual(result, { tried: ['1', '2', '3'], answer: 200 });
    assert.equal(exchange.attempts, 3);
    assert.deepEqual(exchange.failedPeers?.map((p) => p.id), ['127.0.0.1:1', '127.0.0.1:2'], 'the record keeps every peer tried');
  });

  it('is bounded by 1 + retries', () => {
    const { exchange, stats } = setUp(4, { retries: 1 });
    const result = drive(new Attempts(exchange, { stats, outliers: new OutlierDetection(quiet), retryBudget: new RetryBudget(new PeerStats()), hasRoom: () => true, log: quiet, logPeers: false }), { 1: 'connect_failed', 2: 'connect_failed' });
    assert.deepEqual(result, { tried: ['1', '2'], answer: 502 });
  });

  it('never tries a peer twice, even when the selection offers it again', () => {
    const { exchange, stats } = setUp(2, { retries: 3, candidates: (peers) => [peers[0]!, peers[0]!, peers[1]!, peers[0]!] });
    const result = drive(new Attempts(exchange, { stats, outliers: new OutlierDetection(quiet), retryBudget: new RetryBudget(new PeerStats()), hasRoom: () => true, log: quiet, logPeers: false }), { 1: 'connect_failed', 2: 'connect_failed' });
    assert.deepEqual(result.tried, ['1', '2']);
  });

  it('retries a lost connection for idempotent methods only, and nothing once the body was sent', () => {
    for (const [method, bodySent, tried] of [['GET', false, ['1', '2']], ['POST', false, ['1']], ['PUT', true, ['1']], ['POST', true, ['1']]] as const) {
      const { exchange, stats } = setUp(3, { method });
      const result = drive(new Attempts(exchange, { stats, outliers: new OutlierDetection(quiet), retryBudget: new RetryBudget(new PeerStats()), hasRoom: () => true, log: quiet, logPeers: false }), { 1: 'connection_lost' }, bodySent);
      assert.deepEqual(result.tried, tried, `${method}, body sent: ${bodySent}`);
    }
    const { exchange, stats } = setUp(3, { method: 'POST' });
    assert.deepEqual(drive(new Attempts(exchange, { stats, outliers: new OutlierDetection(quiet), retryBudget: new RetryBudget(new PeerStats()), hasRoom: () => true, log: quiet, logPeers: false }), { 1: 'connect_failed' }).tried, ['1', '2'],
      'a refused connection is retried for any method: nothing reached the peer');
  });

  it('answers 504 for timeouts, 502 for other failures, and does not retry either', () => {
    for (const [kind, answer] of [['timeout', 504], ['failed', 502], ['tls_rejected', 502]] as const) {
      const { exchange, stats } = setUp(1);
      assert.deepEqual(drive(new Attempts(exchange, { stats, outliers: new OutlierDetection(quiet), retryBudget: new RetryBudget(new PeerStats()), hasRoom: () => true, log: quiet, logPeers: false }), { 1: kind }), { tried: ['1'], answer });
    }
    const { exchange, stats } = setUp(2);
    assert.deepEqual(drive(new Attempts(exchange, { stats, outliers: new OutlierDetection(quiet), retryBudget: new RetryBudget(new PeerStats()), hasRoom: () => true, log: quiet, logPeers: false }), { 1: 'timeout' }).tried, ['1']);
  });

  it('passes over full peers without counting them; all full is 503 busy, none healthy is 503 too', () => {
    const { exchange, stats, peers } = setUp(3, { retries: 0 });
    const result = drive(new Attempts(exchange, { stats, outliers: new OutlierDetection(quiet), retryBudget: new RetryBudget(new PeerStats()), hasRoom: (peer) => peer !== peers[0], log: quiet, logPeers: false }), {});
    assert.deepEqual(result, { tried: ['2'], answer: 200 }, 'a full first choice costs no attempt');
    const busy = setUp(2);
    const none = new Attempts(busy.exchange, { stats: busy.stats, outliers: new OutlierDetection(quiet), retryBudget: new RetryBudget(new PeerStats()), hasRoom: () => false, log: quiet, logPeers: false });
    assert.equal(none.next(), undefined);
    assert.equal(none.error().kind, 'upstream_busy');
    const empty = setUp(2, { candidates: () => [] });
    assert.equal(new Attempts(empty.exchange, { stats: empty.stats, outliers: new OutlierDetection(quiet), retryBudget: new RetryBudget(new PeerStats()), hasRoom: () => true, log: quiet, logPeers: false }).error().kind, 'no_healthy_peer');
  });

  it('feeds PeerStats: in flight while an attempt runs, consecutive failures, smoothed latency', () => {
    const { exchange, stats, peers } = setUp(2);
    const attempts = new Attempts(exchange, { stats, outliers: new OutlierDetection(quiet), retryBudget: new RetryBudget(new PeerStats()), hasRoom: () => true, log: quiet, logPeers: false });
    const first = attempts.next()!;
    assert.equal(stats.inFlight(first), 1);
    assert.ok(attempts.failed({ kind: 'connect_failed', bodySent: false, error: new Error('refused') }));
    assert.equal(stats.inFlight(first), 0);
    assert.equal(stats.of(first).consecutiveFailures, 1);
    const second = attempts.next()!;
    assert.equal(second, peers[1]);
    attempts.answered(10, 200);
    attempts.answered(20, 200);
    attempts.ended();
    assert.equal(stats.inFlight(second), 0);
    assert.equal(stats.of(second).latencyMs, 11, 'EWMA: 10, then 10% of the way to 20');
    assert.equal(stats.of(second).consecutiveFailures, 0);
  });

  it('starts the failures in a row over when outlier detection ejects the peer', () => {
    const parsed = validateConfig({ upstreams: { p: { peers: ['127.0.0.1:1', '127.0.0.1:2'], outlier_detection: { consecutive_failures: 2 } } } });
    assert.ok('config' in parsed);
    const pools = buildPools(parsed.config.upstreams);
    const route = buildRoutes(undefined, pools).routes[0]!;
    const stats = new PeerStats();
    const outliers = new OutlierDetection(quiet);
    const peer = route.pool.peers[0]!;
    for (let i = 0; i < 2; i++) {
      const exchange = new Exchange(route, [peer], { req: { header: () => undefined } } as never, { method: 'GET', authority: undefined, path: '/', header: () => undefined, clientAddress: '127.0.0.1' }) as RoutedExchange;
      const attempts = new Attempts(exchange, { stats, outliers, retryBudget: new RetryBudget(stats), hasRoom: () => true, log: quiet, logPeers: false });
      attempts.next();
      attempts.failed({ kind: 'connect_failed', bodySent: false, error: new Error('refused') });
    }
    assert.equal(outliers.isEjected(peer), true);
    assert.equal(stats.of(peer).consecutiveFailures, 0, 'a peer back from ejection needs as many failures again');
  });
});
