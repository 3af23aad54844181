import type { Redis } from 'ioredis';
import { describeError } from '../core/errors.ts';
import type { PeerState } from '../core/health.ts';
import type { Log } from '../core/log.ts';
import type { MembershipListener } from '../core/membership.ts';
import type { Peer } from '../core/peer.ts';
import type { RedisLocation } from '../core/redis-url.ts';
import {
  decodeProberInfo, encodeMessage, encodePeerState, encodeProberInfo, FORGET_PROBER_AFTER_MS, HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_TTL_MS, peerKey, sharedHealthKeys, type ProberInfo, type SharedHealthKeys,
} from '../core/shared-health/keys.ts';
import { preciseNow } from './clock.ts';
import { openRedis, reconnectIfHung } from './redis-connection.ts';

export interface RedisWriterOptions {
  readonly location: RedisLocation;
  readonly prefix: string;
  readonly proberId: string;
  readonly host: string;
  readonly log: Log;
  /** Every peer's current state, for the full rewrite when Redis (re)appears. */
  readonly states: () => Iterable<readonly [Peer, PeerState]>;
}

/**
 * A prober's side of the shared store: its view of every peer in `view:{id}`, a heartbeat,
 * and a push on the channel whenever a verdict flips. While Redis is away the prober keeps
 * checking; when it returns, the whole view is rewritten in one transaction, because flips
 * that happened meanwhile were never written.
 */
export class RedisWriter implements MembershipListener {
  readonly #redis: Redis;
  readonly #keys: SharedHealthKeys;
  readonly #options: RedisWriterOptions;
  readonly #startedAt = Date.now();
  #heartbeat: NodeJS.Timeout | undefined;
  #outageLogged = false;
  /** Set until the whole view is written, and again whenever a write may have been lost. */
  #needsRewrite = true;
  #rewriting = false;
  #stopped = false;

  constructor(options: RedisWriterOptions) {
    this.#options = options;
    this.#keys = sharedHealthKeys(options.prefix);
    this.#redis = openRedis(options.location, `edgelb-prober-${options.proberId}`);
  }

  /** Starts connecting and beating; never waits for Redis, which may come later. */
  start(): void {
    this.#redis.on('ready', () => void this.#rewrite());
    this.#redis.on('close', () => this.#onUnreachable());
    this.#redis.connect().catch((error: unknown) => this.#onUnreachable(error));
    this.#heartbeat = setInterval(() => void this.#beat(), HEARTBEAT_INTERVAL_MS);
  }

  /** Records one check's outcome; a flip is pushed to the edges in the same transaction. */
  write(peer: Peer, state: PeerState, flipped: boolean): void {
    if (this.#redis.status !== 'ready') this.#needsRewrite = true;
    if (this.#needsRewrite) return;
    const key = peerKey(peer);
    const encoded = encodePeerState(state);
    const done = flipped
      ? this.#redis.multi()
        .hset(this.#keys.view(this.#options.proberId), key, encoded)
        .publish(this.#keys.channel, encodeMessage({ type: 'state', prober: this.#options.proberId, peer: key, state, writtenAt: preciseNow() }))
        .exec()
      : this.#redis.hset(this.#keys.view(this.#options.proberId), key, encoded);
    // A lost write is made good by the full rewrite when the connection returns.
    done.catch((error: unknown) => this.#onUnreachable(error));
  }

  /** A peer that left its pool: its field goes from the view (else views keep every peer that ever was). */
  peerRemoved(peer: Peer): void {
    if (this.#redis.status !== 'ready' || this.#needsRewrite) return;
    this.#redis.hdel(this.#keys.view(this.#options.proberId), peerKey(peer)).catch((error: unknown) => this.#onUnreachable(error));
  }

  /** Stops beating and tells the edges at once that this view no longer counts. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#heartbeat);
    if (this.#redis.status === 'ready') {
      const id = this.#options.proberId;
      await this.#redis.multi()
        .del(this.#keys.heartbeat(id))
        .hset(this.#keys.probers, id, encodeProberInfo(this.#info()))
        .publish(this.#keys.channel, encodeMessage({ type: 'left', prober: id }))
        .exec()
        .catch(() => undefined);
    }
    this.#redis.disconnect();
  }

  #info(): ProberInfo {
    return { id: this.#options.proberId, host: this.#options.host, pid: process.pid, startedAt: this.#startedAt, lastSeen: Date.now() };
  }

  async #beat(): Promise<void> {
    if (this.#redis.status !== 'ready') {
      this.#needsRewrite = true;
      return;
    }
    if (this.#needsRewrite) return this.#rewrite();
    const id = this.#options.proberId;
    try {
      await this.#redis.multi()
        .set(this.#keys.heartbeat(id), String(Date.now()), 'PX', HEARTBEAT_TTL_MS)
        .hset(this.#keys.probers, id, encodeProberInfo(this.#info()))
        .exec();
      this.#options.log.debug({ prober: id }, 'heartbeat');
    } catch (error) {
      this.#onUnreachable(error);
    }
  }

  async #rewrite(): Promise<void> {
    if (this.#stopped || this.#rewriting) return;
    this.#rewriting = true;
    // Checks that finish during the rewrite write their own fields after it.
    this.#needsRewrite = false;
    try {
      await this.#forgetDeadProbers();
      // A stop meanwhile said "left": a heartbeat written now would make this prober live again.
      if (this.#stopped) return;
      const peers = await this.#rewriteAll();
      if (this.#outageLogged) this.#options.log.info({ peers }, 'redis reachable again; full state rewritten');
      else this.#options.log.info({ peers }, 'full state written to redis');
      this.#outageLogged = false;
    } catch (error) {
      this.#onUnreachable(error);
    } finally {
      this.#rewriting = false;
    }
  }

  /** Heartbeat, registration, the whole view and a "reload me" push, all or nothing. */
  async #rewriteAll(): Promise<number> {
    const id = this.#options.proberId;
    const view = this.#keys.view(id);
    const fields: string[] = [];
    for (const [peer, state] of this.#options.states()) fields.push(peerKey(peer), encodePeerState(state));
    const transaction = this.#redis.multi()
      .set(this.#keys.heartbeat(id), String(Date.now()), 'PX', HEARTBEAT_TTL_MS)
      .hset(this.#keys.probers, id, encodeProberInfo(this.#info()))
      .del(view);
    if (fields.length > 0) transaction.hset(view, ...fields);
    const results = await transaction
      .publish(this.#keys.channel, encodeMessage({ type: 'snapshot', prober: id, writtenAt: Date.now() }))
      .exec();
    const failed = results?.find(([error]) => error !== null)?.[0];
    if (failed) throw failed;
    return fields.length / 2;
  }

  /** Drops probers gone for long, with their views, so `probers` does not grow without end. */
  async #forgetDeadProbers(): Promise<void> {
    const now = Date.now();
    for (const text of Object.values(await this.#redis.hgetall(this.#keys.probers))) {
      const info = decodeProberInfo(text);
      if (info === undefined || info.id === this.#options.proberId || now - info.lastSeen < FORGET_PROBER_AFTER_MS) continue;
      if (await this.#redis.exists(this.#keys.heartbeat(info.id))) continue;
      await this.#redis.multi().hdel(this.#keys.probers, info.id).del(this.#keys.view(info.id)).exec();
      this.#options.log.info({ prober: info.id, lastSeen: info.lastSeen }, 'forgot a prober gone for long');
    }
  }

  #onUnreachable(error?: unknown): void {
    if (this.#stopped) return;
    this.#needsRewrite = true;
    reconnectIfHung(this.#redis, error);
    if (this.#outageLogged) return;
    this.#outageLogged = true;
    this.#options.log.warn({ error: describeError(error) }, 'redis unreachable; checks go on and the full state is written when it returns');
  }
}
