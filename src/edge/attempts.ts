import { describeError, noHealthyPeer, upstreamBusy, type ProxyError } from '../core/errors.ts';
import type { Log } from '../core/log.ts';
import type { Peer } from '../core/peer.ts';
import { failureProxyError, mayRetry, type AttemptFailure } from './attempt-failure.ts';
import type { RoutedExchange } from './exchange.ts';
import type { OutlierDetection } from './outlier-detection.ts';
import { FAILURE_PENALTY_MS, type PeerRecord, type PeerStats } from './peer-stats.ts';
import type { RetryBudget } from './retry-budget.ts';

/** What the attempts of a request need from the runtime that makes them. */
export interface AttemptRuntime {
  readonly stats: PeerStats;
  readonly outliers: OutlierDetection;
  readonly retryBudget: RetryBudget;
  /** Whether the peer can take one more request; a runtime that does not limit says always. */
  hasRoom(peer: Peer): boolean;
  readonly log: Log;
  /** Whether to log the peer of every attempt (debug). */
  readonly logPeers: boolean;
}

/**
 * The attempts of one request, the same on every runtime: a walk over the selection's
 * candidates that is bounded (1 + the pool's `retries`), never tries a peer twice and passes over
 * full peers without counting them; the decision whether a failed attempt may go on to the next
 * peer; and the events of each attempt, which feed `PeerStats` and fill in the exchange's record.
 * A forwarder makes each attempt in its own way and reports what happened; it never decides
 * what the client is answered.
 */
export class Attempts {
  readonly #exchange: RoutedExchange;
  readonly #runtime: AttemptRuntime;
  readonly #candidates: Iterator<Peer>;
  #record: PeerRecord | undefined;
  #failure: AttemptFailure | undefined;
  /** Whether a candidate was passed over because it was full. */
  #full = false;
  /** Whether the attempt running is a retry, holding a place in the pool's retry budget. */
  #retrying = false;
  /** Whether the next attempt is a retry the budget counts (after a timeout or a status). */
  #budgeted = false;

  constructor(exchange: RoutedExchange, runtime: AttemptRuntime) {
    this.#exchange = exchange;
    this.#runtime = runtime;
    this.#candidates = exchange.candidates[Symbol.iterator]();
  }

  /**
   * Starts an attempt on the next candidate and returns its peer, or undefined when none may be
   * tried: then `error()` says what the client is to be told.
   */
  next(): Peer | undefined {
    const exchange = this.#exchange;
    if (exchange.attempts > exchange.pool.retries) return undefined;
    const peer = this.#nextCandidate();
    if (peer === undefined) return undefined;
    exchange.attempts++;
    exchange.peer = peer;
    if (this.#budgeted) {
      this.#budgeted = false;
      this.#retrying = true;
      this.#runtime.retryBudget.started(exchange.pool);
    }
    (this.#record = this.#runtime.stats.of(peer)).started();
    if (this.#runtime.logPeers) {
      this.#runtime.log.debug({ requestId: exchange.id, route: exchange.route.name, pool: exchange.pool.name, peer: peer.id, attempt: exchange.attempts }, 'upstream peer');
    }
    return peer;
  }

  /**
   * The attempt's response head (`status`) arrived after `latencyMs`. A status the pool's
   * outlier detection counts as a failure counts against the peer, though the answer goes on to
   * the client.
   */
  answered(latencyMs: number, status: number): void {
    const record = this.#record!;
    const { pool, peer } = this.#exchange;
    // A 5xx is a failure to EWMA whatever outlier detection counts: it must not look fast.
    if (pool.config.selection === 'ewma') record.observePeak(status >= 500 ? Math.max(latencyMs, FAILURE_PENALTY_MS) : latencyMs, performance.now());
    const outliers = this.#runtime.outliers;
    if (!outliers.isFailureStatus(pool, status)) return record.answered(latencyMs);
    record.failed();
    if (outliers.failed(pool, peer!, record.consecutiveFailures, `answered ${status}`)) record.consecutiveFailures = 0;
  }

  /** The attempt is over (its answer ended, was cut, or it failed). */
  ended(): void {
    this.#record?.ended();
    this.#record = undefined;
    if (this.#retrying) {
      this.#retrying = false;
      this.#runtime.retryBudget.ended(this.#exchange.pool);
    }
  }

  /**
   * The peer answered `status`: returns whether the answer is dropped and the request goes on to
   * the next peer instead (the pool's `retry_on` names the status, the request is idempotent and
   * sent whole, and a retry is allowed); then `next()` picks the peer. Otherwise the answer is
   * the client's, and `answered` follows.
   */
  retriesStatus(status: number, latencyMs: number, bodySent: boolean): boolean {
    const exchange = this.#exchange;
    if (!exchange.pool.retryOn.statuses.has(status)) return false;
    const failure: AttemptFailure = { kind: 'status', status, bodySent, error: new Error(`the upstream server answered ${status}`) };
    if (!this.#mayGoOn(failure)) return false;
    this.#record?.observePeak(Math.max(latencyMs, FAILURE_PENALTY_MS), performance.now());
    return this.failed(failure);
  }

  /**
   * The attempt failed before anything reached the client. Returns whether the request may go
   * on to another peer (then `next()` picks it); logs the retry when it does.
   */
  failed(failure: AttemptFailure): boolean {
    const exchange = this.#exchange;
    const peer = exchange.peer!;
    const record = this.#record;
    if (record !== undefined) {
      record.failed();
      if (exchange.pool.config.selection === 'ewma') record.observePeak(FAILURE_PENALTY_MS, performance.now());
      if (this.#runtime.outliers.failed(exchange.pool, peer, record.consecutiveFailures, `${failure.kind}: ${describeError(failure.error)}`)) record.consecutiveFailures = 0;
    }
    this.ended();
    this.#failure = failure;
    (exchange.failedPeers ??= []).push(peer);
    if (!this.#mayGoOn(failure)) return false;
    this.#budgeted = failure.kind === 'timeout' || failure.kind === 'status';
    this.#runtime.log.warn(
      { requestId: exchange.id, route: exchange.route.name, pool: exchange.pool.name, failedPeer: peer.id, error: describeError(failure.error) },
      'peer failed; retrying the request on the next peer',
    );
    return true;
  }

  /**
   * Whether the request may go on after `failure`. Retries after a timeout or an answer status
   * take a place in the retry budget; those after a connect failure or a lost connection do
   * not, since failing over from a dead peer is what every in-flight request must do at once.
   */
  #mayGoOn(failure: AttemptFailure): boolean {
    const { pool, request, attempts } = this.#exchange;
    if (!mayRetry(failure, request.method, pool.retryOn) || attempts > pool.retries) return false;
    if (failure.kind !== 'timeout' && failure.kind !== 'status') return true;
    return this.#runtime.retryBudget.allows(pool);
  }

  /** What the client is told once no (further) peer may be tried. */
  error(): ProxyError {
    if (this.#failure !== undefined) return failureProxyError(this.#failure);
    return this.#full ? upstreamBusy(this.#exchange.pool.name) : noHealthyPeer(this.#exchange.pool.name);
  }

  #nextCandidate(): Peer | undefined {
    const tried = this.#exchange.failedPeers;
    for (let next = this.#candidates.next(); !next.done; next = this.#candidates.next()) {
      const peer = next.value;
      if (tried?.includes(peer)) continue;
      if (this.#runtime.hasRoom(peer)) return peer;
      this.#full = true;
    }
    return undefined;
  }
}
