import type { Redis } from 'ioredis';
import type { Log } from '../core/log.ts';
import type { Membership } from '../core/membership.ts';
import type { RedisLocation } from '../core/redis-url.ts';
import { decodeMessage, HEARTBEAT_INTERVAL_MS, sharedHealthKeys, type SharedHealthKeys } from '../core/shared-health/keys.ts';
import { RegistrationFollower } from '../core/shared-health/registration.ts';
import { describeError } from '../core/errors.ts';
import { openRedis, reconnectIfHung } from './redis-connection.ts';
import { readRegistrations } from './redis-registrations.ts';

/**
 * A prober's view of the registered peers: pushes add and remove them at once, and a read every
 * second catches lost pushes and expired registrations. While Redis is away the peers known so
 * far stay, and are checked on.
 */
export class RegistrationWatch {
  readonly #commands: Redis;
  readonly #subscriber: Redis;
  readonly #keys: SharedHealthKeys;
  readonly #follower: RegistrationFollower;
  readonly #log: Log;
  #timer: NodeJS.Timeout | undefined;
  #readySince = 0;
  #reading = false;
  #outageLogged = false;

  constructor(membership: Membership, location: RedisLocation, prefix: string, log: Log) {
    this.#follower = new RegistrationFollower(membership);
    this.#keys = sharedHealthKeys(prefix);
    this.#log = log;
    this.#commands = openRedis(location, 'edgelb-prober-registrations');
    this.#subscriber = openRedis(location, 'edgelb-prober-subscriber');
  }

  /** Whether any pool takes registered peers; a watch that is not wanted is never started. */
  get wanted(): boolean {
    return this.#follower.wanted;
  }

  start(): void {
    this.#subscriber.on('message', (_channel: string, text: string) => {
      const message = decodeMessage(text);
      if (message !== undefined) this.#follower.follow(message);
    });
    this.#commands.on('ready', () => {
      this.#readySince = performance.now();
      void this.#read();
    });
    // Once: on later reconnects ioredis subscribes again by itself.
    let subscribed = false;
    this.#subscriber.on('ready', () => {
      if (!subscribed) this.#subscriber.subscribe(this.#keys.channel).then(() => (subscribed = true), (error: unknown) => this.#unreachable(error));
    });
    this.#subscriber.connect().catch((error: unknown) => this.#unreachable(error));
    this.#commands.connect().catch((error: unknown) => this.#unreachable(error));
    this.#timer = setInterval(() => void this.#read(), HEARTBEAT_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#commands.disconnect();
    this.#subscriber.disconnect();
  }

  async #read(): Promise<void> {
    if (this.#reading || this.#commands.status !== 'ready') return;
    this.#reading = true;
    try {
      const registrations = await readRegistrations(this.#commands, this.#keys);
      this.#follower.replaceAll(registrations, performance.now() - this.#readySince);
      this.#outageLogged = false;
    } catch (error) {
      this.#unreachable(error);
    } finally {
      this.#reading = false;
    }
  }

  #unreachable(error: unknown): void {
    reconnectIfHung(this.#commands, error);
    if (this.#outageLogged) return;
    this.#outageLogged = true;
    this.#log.warn({ error: describeError(error) }, 'registrations unreadable; checking the registered peers known so far');
  }
}
