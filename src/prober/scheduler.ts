import type { HealthStore } from '../core/health-store.ts';
import { describeError } from '../core/errors.ts';
import { HealthThreshold, type CheckResult } from '../core/health.ts';
import type { Peer, Pool } from '../core/peer.ts';
import type { HealthCheck } from './check.ts';
import { HttpCheck } from './http-check.ts';
import { TcpCheck } from './tcp-check.ts';

export interface ProbeEvents {
  /** A peer's state flipped (or was first decided as down). */
  onFlip?(peer: Peer, up: boolean, reason: string | undefined): void;
  /** A check could not be made for a local reason and was not counted (see `inconclusive`). */
  onInconclusive?(peer: Peer, reason: string | undefined): void;
  /** A check was made and counted: its result and how long it took. */
  onCheck?(peer: Peer, result: CheckResult): void;
}

/**
 * Runs every pool's health check on every peer each `interval` and writes the verdicts to the
 * store. Each peer keeps a fixed period with a random phase, so checks of many peers spread out
 * instead of firing in lockstep, and a peer's failure is seen within one interval + timeout.
 */
export class ProbeScheduler {
  readonly #pools: readonly Pool[];
  readonly #store: HealthStore;
  readonly #events: ProbeEvents;
  readonly #timers = new Set<NodeJS.Timeout>();
  #stopped = false;

  constructor(pools: readonly Pool[], store: HealthStore, events: ProbeEvents = {}) {
    this.#pools = pools;
    this.#store = store;
    this.#events = events;
  }

  /** Runs the first check of every peer and resolves once all have answered. */
  async start(): Promise<void> {
    const first: Promise<void>[] = [];
    for (const pool of this.#pools) {
      const settings = pool.config.health_check;
      const check = createCheck(pool);
      for (const peer of pool.peers) {
        const threshold = new HealthThreshold(settings.rise, settings.fall);
        const probe = () => this.#probe(check, peer, threshold);
        first.push(probe().then(() => this.#scheduleFrom(probe, settings.interval)));
      }
    }
    await Promise.all(first);
  }

  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #scheduleFrom(probe: () => Promise<void>, interval: number): void {
    if (this.#stopped) return;
    const phase = Math.random() * interval;
    let due = performance.now() + phase;
    let timer: NodeJS.Timeout;
    const tick = () => {
      this.#timers.delete(timer);
      if (this.#stopped) return;
      void probe().then(() => {
        // A check slower than the interval skips the slots it overran instead of piling up.
        const now = performance.now();
        do due += interval; while (due <= now);
        if (!this.#stopped) timer = this.#arm(tick, due - now);
      });
    };
    timer = this.#arm(tick, phase);
  }

  #arm(tick: () => void, delay: number): NodeJS.Timeout {
    const timer = setTimeout(tick, delay);
    timer.unref();
    this.#timers.add(timer);
    return timer;
  }

  async #probe(check: HealthCheck, peer: Peer, threshold: HealthThreshold): Promise<void> {
    // A check that throws is a failed check, never the end of this peer's schedule.
    const result = await check.check(peer).catch((error: unknown): CheckResult =>
      ({ ok: false, latencyMs: 0, reason: `check failed: ${describeError(error)}` }));
    if (this.#stopped) return;
    if (result.inconclusive) {
      this.#events.onInconclusive?.(peer, result.reason);
      return;
    }
    this.#events.onCheck?.(peer, result);
    const now = Date.now();
    const { up, changed } = threshold.observe(result.ok);
    const previous = this.#store.state(peer);
    this.#store.setState(peer, {
      up,
      since: changed || !previous ? now : previous.since,
      checkedAt: now,
      latencyMs: result.latencyMs,
      reason: result.reason,
    });
    if (changed && (previous !== undefined || !up)) this.#events.onFlip?.(peer, up, result.reason);
  }
}

function createCheck(pool: Pool): HealthCheck {
  const settings = pool.config.health_check;
  return settings.type === 'http'
    ? new HttpCheck(settings.timeout, settings.path, pool.config.host)
    : new TcpCheck(settings.timeout);
}
