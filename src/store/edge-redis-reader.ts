import type { Redis } from 'ioredis';
import { describeError } from '../core/errors.ts';
import type { HealthStore } from '../core/health-store.ts';
import type { PeerState } from '../core/health.ts';
import type { Log } from '../core/log.ts';
import { Membership } from '../core/membership.ts';
import { membershipLog } from '../core/membership-log.ts';
import type { Peer, Pool } from '../core/peer.ts';
import type { RedisLocation } from '../core/redis-url.ts';
import { HEARTBEAT_INTERVAL_MS, peerKey, sharedHealthKeys, type SharedHealthKeys } from '../core/shared-health/keys.ts';
import { RegistrationFollower, type Registration } from '../core/shared-health/registration.ts';
import { SharedHealthView } from '../core/shared-health/view.ts';
import { readRegistrations } from './redis-registrations.ts';
import { connectWithin, openRedis } from './redis-connection.ts';
import { readSnapshot } from './redis-snapshot.ts';

export interface EdgeRedisReaderOptions {
  readonly location: RedisLocation;
  readonly prefix: string;
  readonly log: Log;
  /** How old the copy may get before a request starts a re-read; default a prober's heartbeat. */
  readonly ttlMs?: number;
}

/** A copy not refreshed for this many TTLs is re-read before the next request is routed. */
const IDLE_AFTER_TTLS = 3;

/** One whole read (connect, read, close) gives up after this. */
const READ_TIMEOUT_MS = 2_000;

/**
 * The shared health as an edge runtime (workerd) can follow it: an I/O object such as a Redis
 * connection belongs to the request that opened it there, so nothing stays connected between
 * requests. Each read opens a connection, reads the whole shared state, applies it to a
 * `SharedHealthView` and closes; the caller runs reads in the background (`waitUntil`) once the
 * copy is older than the TTL, so requests never wait on Redis after the first. When a read fails
 * the last known set stays; only before any read succeeded is nothing known, and then every pool
 * looks empty.
 */
export class EdgeRedisReader implements HealthStore {
  readonly #view: SharedHealthView;
  readonly #keys: SharedHealthKeys;
  readonly #location: RedisLocation;
  readonly #log: Log;
  readonly #ttlMs: number;
  readonly #registrations: RegistrationFollower;
  #known = false;
  #reading = false;
  #lastAttempt = Number.NEGATIVE_INFINITY;
  #outage = false;

  constructor(pools: readonly Pool[], options: EdgeRedisReaderOptions) {
    this.#view = new SharedHealthView(pools);
    const membership = new Membership(pools);
    membership.listen(this.#view);
    membership.listen(membershipLog(options.log));
    this.#registrations = new RegistrationFollower(membership);
    this.#keys = sharedHealthKeys(options.prefix);
    this.#location = options.location;
    this.#log = options.log;
    this.#ttlMs = options.ttlMs ?? HEARTBEAT_INTERVAL_MS;
  }

  /** Whether any read has succeeded in this isolate. */
  get known(): boolean {
    return this.#known;
  }

  /**
   * True when no read was even tried for a few TTLs: the isolate sat idle, and its copy may
   * route to peers the probers have since marked down. (An edge whose reads fail is not idle:
   * it serves the last known set without waiting.)
   */
  idle(now = Date.now()): boolean {
    return !this.#reading && now - this.#lastAttempt >= IDLE_AFTER_TTLS * this.#ttlMs;
  }

  /** True when the copy is older than the TTL and no read is under way. */
  due(now = Date.now()): boolean {
    return !this.#reading && now - this.#lastAttempt >= this.#ttlMs;
  }

  healthyPeers(pool: string): readonly Peer[] {
    return this.#known ? this.#view.healthyPeers(pool) : [];
  }

  state(peer: Peer): PeerState | undefined {
    return this.#view.state(peer);
  }

  /** Local evidence about a peer; it holds until the next read says otherwise. */
  setState(peer: Peer, state: PeerState): void {
    this.#view.override(peer, state.up);
  }

  /** Drains are an operator's word through the Node edge or Redis; an edge runtime only reads them. */
  setDrained(peer: Peer, drained: boolean): void {
    this.#view.setDrained(peerKey(peer), drained);
  }

  isDrained(peer: Peer): boolean {
    return this.#view.isDrained(peer);
  }

  /** Reads the shared state once on a connection of its own. Never rejects: a failure keeps the last set. */
  async read(): Promise<void> {
    this.#reading = true;
    const started = this.#lastAttempt = Date.now();
    const redis = openRedis(this.#location, 'edgelb-worker', { retry: false });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer from redis within ${READ_TIMEOUT_MS}ms`)), READ_TIMEOUT_MS);
      });
      const [registered, snapshot] = await Promise.race([
        connectWithin(redis, READ_TIMEOUT_MS).then(() => Promise.all([this.#readRegistrations(redis), readSnapshot(redis, this.#keys)])),
        timeout,
      ]);
      // Registered peers join before the views apply, so that their verdicts count.
      if (registered !== undefined) this.#registrations.replaceAll(registered.registrations, registered.upForMs);
      for (const { peer, up, reason } of this.#view.replaceAll(snapshot)) {
        if (up) this.#log.info({ pool: peer.pool, peer: peer.id }, 'peer up');
        else this.#log.warn({ pool: peer.pool, peer: peer.id, reason }, 'peer down');
      }
      if (!this.#known || this.#outage) this.#log.info({ probers: [...this.#view.liveProbers()], stale: this.#view.stale }, 'shared health read from redis');
      this.#known = true;
      this.#outage = false;
      if (this.#log.isLevelEnabled('debug')) this.#log.debug({ ms: Date.now() - started }, 'shared health re-read');
    } catch (error) {
      if (!this.#outage) {
        this.#log.warn({ error: describeError(error), known: this.#known },
          this.#known ? 'redis unreachable; serving the last known healthy set' : 'redis unreachable; no healthy set known yet');
      }
      this.#outage = true;
    } finally {
      clearTimeout(timer);
      redis.disconnect();
      this.#reading = false;
    }
  }

  /**
   * With a connection per read, how long Redis has been up stands for how long this edge has
   * been connected: a Redis restarted empty is not taken as every registration gone.
   */
  async #readRegistrations(redis: Redis): Promise<{ registrations: Registration[]; upForMs: number } | undefined> {
    if (!this.#registrations.wanted) return undefined;
    const [registrations, info] = await Promise.all([readRegistrations(redis, this.#keys), redis.info('server')]);
    const uptime = /uptime_in_seconds:(\d+)/.exec(info)?.[1];
    return { registrations, upForMs: uptime === undefined ? 0 : Number(uptime) * 1000 };
  }
}
