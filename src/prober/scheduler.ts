import type { HealthStore } from '../core/health-store.ts';
import { describeError } from '../core/errors.ts';
import { HealthThreshold, type CheckResult, type PeerState } from '../core/health.ts';
import type { MembershipListener } from '../core/membership.ts';
import type { Peer, Pool } from '../core/peer.ts';
import type { HealthCheck } from './check.ts';
import { HttpCheck, type CheckTls } from './http-check.ts';
import { TcpCheck } from './tcp-check.ts';

export interface ProbeEvents {
  /** A peer's state flipped (or was first decided as down). */
  onFlip?(peer: Peer, up: boolean, reason: string | undefined): void;
  /** A check could not be made for a local reason and was not counted (see `inconclusive`). */
  onInconclusive?(peer: Peer, reason: string | undefined): void;
  /** A check was counted and its state stored; `changed` when the verdict was (re)decided. */
  onCheck?(peer: Peer, state: PeerState, changed: boolean): void;
}

/** One peer's place in the schedule. */
interface Schedule {
  stopped: boolean;
  timer: NodeJS.Timeout | undefined;
}

function arm(tick: () => void, delay: number): NodeJS.Timeout {
  const timer = setTimeout(tick, delay);
  timer.unref();
  return timer;
}

/**
 * Runs every pool's health check on every peer each `interval` and writes the verdicts to the
 * store; a peer that joins later is checked at once, then like the others. Each peer keeps a
 * fixed period with a random phase, so checks of many peers spread out instead of firing in
 * lockstep, and a peer's failure is seen within one interval + timeout.
 */
export class ProbeScheduler implements MembershipListener {
  readonly #pools: readonly Pool[];
  readonly #store: HealthStore;
  readonly #events: ProbeEvents;
  readonly #tlsByPool: ReadonlyMap<string, CheckTls>;
  readonly #schedules = new Map<Peer, Schedule>();
  /** One check per pool, made when its first peer is. */
  readonly #checks = new Map<Pool, HealthCheck>();
  #stopped = false;

  /** `tlsByPool`: how HTTP checks speak TLS to the peers of pools with `tls: true`. */
  constructor(pools: readonly Pool[], store: HealthStore, events: ProbeEvents = {}, tlsByPool: ReadonlyMap<string, CheckTls> = new Map()) {
    this.#pools = pools;
    this.#store = store;
    this.#events = events;
    this.#tlsByPool = tlsByPool;
  }

  /** Runs the first check of every peer and resolves once all have answered. */
  async start(): Promise<void> {
    await Promise.all(this.#pools.flatMap((pool) => pool.peers.map((peer) => this.#begin(peer, pool))));
  }

  /** A peer that joined its pool: checked at once, then every interval like the others. */
  peerAdded(peer: Peer): void {
    const pool = this.#pools.find((candidate) => candidate.name === peer.pool);
    if (pool !== undefined && !this.#stopped) void this.#begin(peer, pool);
  }

  /** A peer that left: no further check of it (one under way is not stored). */
  peerRemoved(peer: Peer): void {
    const schedule = this.#schedules.get(peer);
    if (schedule === undefined) return;
    this.#schedules.delete(peer);
    schedule.stopped = true;
    if (schedule.timer !== undefined) clearTimeout(schedule.timer);
  }

  stop(): void {
    this.#stopped = true;
    for (const peer of [...this.#schedules.keys()]) this.peerRemoved(peer);
  }

  #begin(peer: Peer, pool: Pool): Promise<void> {
    if (this.#schedules.has(peer)) return Promise.resolve();
    const settings = pool.config.health_check;
    let check = this.#checks.get(pool);
    if (check === undefined) this.#checks.set(pool, (check = createCheck(pool, this.#tlsByPool.get(pool.name))));
    const schedule: Schedule = { stopped: false, timer: undefined };
    this.#schedules.set(peer, schedule);
    const threshold = new HealthThreshold(settings.rise, settings.fall);
    const probe = () => this.#probe(check, peer, threshold, schedule);
    return probe().then(() => this.#scheduleFrom(probe, settings.interval, schedule));
  }

  #scheduleFrom(probe: () => Promise<void>, interval: number, schedule: Schedule): void {
    if (schedule.stopped) return;
    const phase = Math.random() * interval;
    let due = performance.now() + phase;
    const tick = () => {
      schedule.timer = undefined;
      if (schedule.stopped) return;
      void probe().then(() => {
        // A check slower than the interval skips the slots it overran instead of piling up.
        const now = performance.now();
        do due += interval; while (due <= now);
        if (!schedule.stopped) schedule.timer = arm(tick, due - now);
      });
    };
    schedule.timer = arm(tick, phase);
  }

  async #probe(check: HealthCheck, peer: Peer, threshold: HealthThreshold, schedule: Schedule): Promise<void> {
    // A check that throws is a failed check, never the end of this peer's schedule.
    const result = await check.check(peer).catch((error: unknown): CheckResult =>
      ({ ok: false, latencyMs: 0, reason: `check failed: ${describeError(error)}` }));
    if (schedule.stopped) return;
    if (result.inconclusive) {
      this.#events.onInconclusive?.(peer, result.reason);
      return;
    }
    const now = Date.now();
    const { up, changed } = threshold.observe(result.ok);
    const previous = this.#store.state(peer);
    const state: PeerState = {
      up,
      since: changed || !previous ? now : previous.since,
      checkedAt: now,
      latencyMs: result.latencyMs,
      reason: result.reason,
    };
    this.#store.setState(peer, state);
    this.#events.onCheck?.(peer, state, changed);
    if (changed && (previous !== undefined || !up)) this.#events.onFlip?.(peer, up, result.reason);
  }
}

/** A TCP check stays a plain connect on a TLS pool too; an HTTP check speaks TLS there. */
function createCheck(pool: Pool, tls: CheckTls | undefined): HealthCheck {
  const settings = pool.config.health_check;
  return settings.type === 'http'
    ? new HttpCheck(settings.timeout, settings.path, pool.config.host, tls)
    : new TcpCheck(settings.timeout);
}
