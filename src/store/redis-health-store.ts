import type { Redis } from 'ioredis';
import { describeError } from '../core/errors.ts';
import type { HealthStore } from '../core/health-store.ts';
import type { PeerState } from '../core/health.ts';
import type { Log } from '../core/log.ts';
import type { Membership } from '../core/membership.ts';
import type { Peer } from '../core/peer.ts';
import type { RedisLocation } from '../core/redis-url.ts';
import {
  decodeMessage, encodeMessage, HEARTBEAT_INTERVAL_MS, peerKey, RESYNC_INTERVAL_MS, sharedHealthKeys,
  type SharedHealthKeys, type SharedHealthMessage,
} from '../core/shared-health/keys.ts';
import { RegistrationFollower } from '../core/shared-health/registration.ts';
import { SharedHealthView, type VerdictChange } from '../core/shared-health/view.ts';
import { preciseNow } from './clock.ts';
import { connectWithin, openRedis, reconnectIfHung } from './redis-connection.ts';
import { readRegistrations } from './redis-registrations.ts';
import { readProbers, readSnapshot, readView } from './redis-snapshot.ts';

export interface RedisHealthStoreOptions {
  /** The pools' peers; registered ones join and leave it as Redis says. */
  readonly membership: Membership;
  readonly location: RedisLocation;
  readonly prefix: string;
  readonly log: Log;
  /** How long `open` waits for Redis before serving with every peer in rotation. */
  readonly startTimeoutMs?: number;
}

/**
 * An edge's health store with `redis`: a local copy of the shared health (see
 * `SharedHealthView`) that the request path reads synchronously. It loads everything at start,
 * applies pushed changes as they come, checks which probers are live every second and re-reads
 * everything every few seconds in case a push was lost. While Redis is away it keeps serving
 * the last known set and catches up when it returns.
 */
export class RedisHealthStore implements HealthStore {
  readonly #view: SharedHealthView;
  readonly #keys: SharedHealthKeys;
  readonly #log: Log;
  readonly #commands: Redis;
  readonly #subscriber: Redis;
  /** Drains set while Redis was away, written when it returns. */
  readonly #pendingDrains = new Map<string, boolean>();
  #timer: NodeJS.Timeout | undefined;
  #outageLogged = false;
  #stale = false;
  #syncing = false;
  #sinceResync = 0;
  #closed = false;
  #subscribed = false;

  readonly #registrations: RegistrationFollower;
  /** When the commands connection last became ready (performance.now()). */
  #readySince = 0;

  private constructor(options: RedisHealthStoreOptions) {
    this.#view = new SharedHealthView(options.membership.pools);
    options.membership.listen(this.#view);
    this.#registrations = new RegistrationFollower(options.membership);
    this.#keys = sharedHealthKeys(options.prefix);
    this.#log = options.log;
    this.#commands = openRedis(options.location, 'edgelb-edge');
    this.#subscriber = openRedis(options.location, 'edgelb-edge-subscriber');
  }

  /** Connects, subscribes and loads the shared health; serves every peer if Redis cannot be reached in time. */
  static async open(options: RedisHealthStoreOptions): Promise<RedisHealthStore> {
    const store = new RedisHealthStore(options);
    await store.#start(options.startTimeoutMs ?? 3_000);
    return store;
  }

  healthyPeers(pool: string): readonly Peer[] {
    return this.#view.healthyPeers(pool);
  }

  state(peer: Peer): PeerState | undefined {
    return this.#view.state(peer);
  }

  /** An edge's own evidence about a peer: it holds until the probers' next word on the peer. */
  setState(peer: Peer, state: PeerState): void {
    if (this.#view.override(peer, state.up)) this.#logChanges([{ peer, up: state.up, ...(state.reason ? { reason: state.reason } : {}) }], 'local');
  }

  /** Whether Redis answers: false from the first failed read until it is read again. */
  get reachable(): boolean {
    return !this.#outageLogged && this.#commands.status === 'ready';
  }

  isDrained(peer: Peer): boolean {
    return this.#view.isDrained(peer);
  }

  /**
   * Applies at once here, and through Redis on every other edge. The caller (the admin API)
   * logs this edge's drain; other edges log it when the push arrives.
   */
  setDrained(peer: Peer, drained: boolean): void {
    const key = peerKey(peer);
    this.#view.setDrained(key, drained);
    this.#pendingDrains.set(key, drained);
    void this.#writeDrains();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#commands.disconnect();
    this.#subscriber.disconnect();
  }

  async #start(timeoutMs: number): Promise<void> {
    this.#subscriber.on('message', (_channel: string, text: string) => this.#onMessage(text));
    this.#commands.on('ready', () => (this.#readySince = performance.now()));
    for (const redis of [this.#commands, this.#subscriber]) {
      redis.on('close', () => this.#onUnreachable());
      redis.on('ready', () => void this.#onReachable());
    }
    this.#timer = setInterval(() => void this.#tick(), HEARTBEAT_INTERVAL_MS);
    this.#timer.unref();
    try {
      await Promise.all([connectWithin(this.#commands, timeoutMs), connectWithin(this.#subscriber, timeoutMs)]);
      await this.#subscribe();
      await this.#resync();
      this.#log.info({ probers: [...this.#view.liveProbers()], stale: this.#view.stale }, 'shared health loaded from redis');
    } catch (error) {
      this.#onUnreachable(error);
    }
  }

  /** Once; after that ioredis subscribes again by itself on every reconnect. */
  async #subscribe(): Promise<void> {
    if (this.#subscribed) return;
    await this.#subscriber.subscribe(this.#keys.channel);
    this.#subscribed = true;
  }

  #onMessage(text: string): void {
    const message = decodeMessage(text);
    if (message === undefined) {
      this.#log.warn({ message: text.slice(0, 200) }, 'ignored a malformed health message');
      return;
    }
    this.#apply(message);
  }

  #apply(message: SharedHealthMessage): void {
    switch (message.type) {
      case 'state':
        this.#logChanges(this.#view.applyState(message.prober, message.peer, message.state), 'push', message.writtenAt);
        break;
      case 'snapshot':
        void this.#reloadView(message.prober);
        break;
      case 'left':
        this.#logChanges(this.#view.proberLeft(message.prober), 'prober left');
        this.#noteStaleness();
        break;
      case 'registered':
      case 'deregistered':
        this.#registrations.follow(message);
        break;
      case 'drain': {
        const peer = this.#view.peers().get(message.peer);
        if (peer && this.#view.setDrained(message.peer, message.drained)) {
          this.#log.info({ pool: peer.pool, peer: peer.id, drained: message.drained }, message.drained ? 'peer drained' : 'peer undrained');
        }
        break;
      }
    }
  }

  async #reloadView(prober: string): Promise<void> {
    try {
      await this.#read(() => readView(this.#commands, this.#keys, prober), (view, mark) =>
        this.#logChanges(this.#view.replaceView(prober, view, mark), 'prober snapshot'));
      this.#noteStaleness();
    } catch (error) {
      this.#onUnreachable(error);
    }
  }

  /**
   * Reads from the store and applies the result; pushes that arrive while the read is in flight
   * are applied again over it (the read may predate them), so a pushed flip is never undone.
   */
  async #read<T>(read: () => Promise<T>, apply: (result: T, mark: number) => void): Promise<void> {
    const mark = this.#view.beginRead();
    let result: T;
    try {
      result = await read();
    } catch (error) {
      this.#view.abandonRead(mark);
      throw error;
    }
    apply(result, mark);
  }

  /** Every second: which probers are live; every few seconds: everything. */
  async #tick(): Promise<void> {
    if (this.#syncing || this.#closed || this.#commands.status !== 'ready') return;
    this.#syncing = true;
    try {
      this.#sinceResync += HEARTBEAT_INTERVAL_MS;
      if (this.#sinceResync >= RESYNC_INTERVAL_MS) {
        await this.#resync();
      } else {
        await this.#readRegistrations();
        let joined = false;
        await this.#read(() => readProbers(this.#commands, this.#keys), (probers, mark) => {
          const live = new Set(probers.filter((p) => p.live).map((p) => p.id));
          joined = [...live].some((id) => !this.#view.liveProbers().has(id));
          if (joined) this.#view.abandonRead(mark);
          else this.#logChanges(this.#view.setLive(live, mark), 'heartbeats');
        });
        // A prober that came (back) to life may have changed its view while it did not count.
        if (joined) await this.#resync();
      }
      this.#noteStaleness();
    } catch (error) {
      this.#onUnreachable(error);
    } finally {
      this.#syncing = false;
    }
  }

  /** Registered peers join before the views are read, so that their verdicts apply to them. */
  async #readRegistrations(): Promise<void> {
    if (!this.#registrations.wanted) return;
    const registrations = await readRegistrations(this.#commands, this.#keys);
    this.#registrations.replaceAll(registrations, performance.now() - this.#readySince);
  }

  async #resync(): Promise<void> {
    this.#sinceResync = 0;
    await this.#readRegistrations();
    await this.#read(() => readSnapshot(this.#commands, this.#keys), (snapshot, mark) =>
      this.#logChanges(this.#view.replaceAll(snapshot, mark), 'resync'));
    this.#noteStaleness();
  }

  async #writeDrains(): Promise<void> {
    for (const [key, drained] of this.#pendingDrains) {
      try {
        await (drained ? this.#commands.sadd(this.#keys.drained, key) : this.#commands.srem(this.#keys.drained, key));
        await this.#commands.publish(this.#keys.channel, encodeMessage({ type: 'drain', peer: key, drained, writtenAt: Date.now() }));
        if (this.#pendingDrains.get(key) === drained) this.#pendingDrains.delete(key);
      } catch (error) {
        this.#log.warn({ peer: key, drained, error: describeError(error) }, 'drain not yet stored in redis; it is written when redis returns');
        return;
      }
    }
  }

  #onUnreachable(error?: unknown): void {
    if (this.#closed) return;
    reconnectIfHung(this.#commands, error);
    if (this.#outageLogged) return;
    this.#outageLogged = true;
    this.#log.warn({ error: describeError(error) }, 'redis unreachable; serving the last known healthy set');
  }

  async #onReachable(): Promise<void> {
    if (this.#closed || this.#commands.status !== 'ready' || this.#subscriber.status !== 'ready') return;
    if (!this.#outageLogged) return;
    this.#outageLogged = false;
    try {
      await this.#subscribe();
      await this.#writeDrains();
      await this.#resync();
      this.#log.info({ probers: [...this.#view.liveProbers()] }, 'redis reachable again');
    } catch (error) {
      this.#onUnreachable(error);
    }
  }

  #noteStaleness(): void {
    if (this.#view.stale === this.#stale) return;
    this.#stale = this.#view.stale;
    if (this.#stale) this.#log.warn({}, 'no live prober; serving the last known healthy set (stale)');
    else this.#log.info({ probers: [...this.#view.liveProbers()] }, 'probers live again');
  }

  #logChanges(changes: readonly VerdictChange[], via: string, writtenAt?: number): void {
    const now = preciseNow();
    for (const { peer, up, reason } of changes) {
      const propagationMs = writtenAt === undefined ? undefined : Math.round((now - writtenAt) * 100) / 100;
      const fields = { pool: peer.pool, peer: peer.id, via, ...(writtenAt !== undefined ? { writtenAt, propagationMs } : {}) };
      if (up) this.#log.info(fields, 'peer up');
      else this.#log.warn({ ...fields, reason }, 'peer down');
    }
  }
}
