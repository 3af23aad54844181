import type { Redis } from 'ioredis';
import { formatAddress } from '../core/address.ts';
import { describeError } from '../core/errors.ts';
import type { Log } from '../core/log.ts';
import type { RedisLocation } from '../core/redis-url.ts';
import { encodeMessage, sharedHealthKeys, type SharedHealthKeys } from '../core/shared-health/keys.ts';
import { encodeRegistration, registrationKey, type Registration } from '../core/shared-health/registration.ts';
import { openRedis } from './redis-connection.ts';

/**
 * Writes the registration with its TTL and indexes it in one step; edges hear of it only when
 * it is new or changed (a renewal is silent).
 */
const ANNOUNCE = `
local old = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
if old ~= ARGV[1] then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return old and 0 or 1`;

const WITHDRAW = `
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`;

/** A registration is renewed this many times per TTL, so one or two lost renewals do not end it. */
const RENEWALS_PER_TTL = 3;

export interface RegistrarOptions {
  readonly location: RedisLocation;
  readonly prefix: string;
  readonly registration: Registration;
  readonly log: Log;
}

/**
 * `edgelb register`'s work: keeps one peer registered in Redis. It announces at once, renews
 * every third of the TTL, announces again as soon as Redis answers after an outage (Redis may
 * have come back empty), and withdraws the registration when stopped.
 */
export class Registrar {
  readonly #redis: Redis;
  readonly #keys: SharedHealthKeys;
  readonly #log: Log;
  readonly #key: string;
  readonly #value: string;
  readonly #ttlMs: number;
  readonly #fields: Record<string, unknown>;
  #timer: NodeJS.Timeout | undefined;
  #announced = false;
  #outageLogged = false;
  #stopped = false;
  #announcing: Promise<void> = Promise.resolve();

  constructor(options: RegistrarOptions) {
    const { registration } = options;
    this.#redis = openRedis(options.location, 'edgelb-register');
    this.#keys = sharedHealthKeys(options.prefix);
    this.#log = options.log;
    this.#key = registrationKey(registration);
    this.#value = encodeRegistration(registration);
    this.#ttlMs = registration.ttlMs;
    this.#fields = { pool: registration.pool, peer: formatAddress(registration.spec), weight: registration.spec.weight, ttlMs: this.#ttlMs };
  }

  /** Whether the registration is in Redis as far as this registrar knows. */
  get announced(): boolean {
    return this.#announced;
  }

  start(): void {
    this.#redis.on('ready', () => this.#renew());
    this.#redis.on('close', () => this.#unreachable(undefined));
    this.#timer = setInterval(() => this.#renew(), Math.max(1, Math.floor(this.#ttlMs / RENEWALS_PER_TTL)));
    this.#redis.connect().catch((error: unknown) => this.#unreachable(error));
  }

  /** Withdraws the registration (edges drain the peer, then drop it) and lets go of Redis. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    // An announcement landing after the withdrawal would register the peer again.
    await this.#announcing;
    try {
      if (this.#redis.status === 'ready') {
        const message = encodeMessage({ type: 'deregistered', peer: this.#key });
        await this.#redis.eval(WITHDRAW, 2, this.#keys.registration(this.#key), this.#keys.registered, this.#key, this.#keys.channel, message);
        this.#log.info(this.#fields, 'deregistered');
      } else {
        this.#log.warn(this.#fields, 'redis unreachable at stop; the registration expires after its TTL');
      }
    } catch (error) {
      this.#log.warn({ ...this.#fields, error: describeError(error) }, 'could not deregister; the registration expires after its TTL');
    } finally {
      this.#redis.disconnect();
    }
  }

  #renew(): void {
    this.#announcing = this.#announcing.then(() => this.#announce());
  }

  async #announce(): Promise<void> {
    if (this.#stopped || this.#redis.status !== 'ready') return;
    const message = encodeMessage({ type: 'registered', peer: this.#key, registration: this.#value });
    try {
      const created = await this.#redis.eval(
        ANNOUNCE, 2, this.#keys.registration(this.#key), this.#keys.registered,
        this.#value, String(this.#ttlMs), this.#key, this.#keys.channel, message,
      );
      if (this.#stopped) return;
      if (!this.#announced || this.#outageLogged) this.#log.info({ ...this.#fields, created: created === 1 }, 'registered');
      this.#announced = true;
      this.#outageLogged = false;
    } catch (error) {
      this.#unreachable(error);
    }
  }

  #unreachable(error: unknown): void {
    if (this.#stopped || this.#outageLogged) return;
    this.#outageLogged = true;
    this.#log.warn({ ...this.#fields, error: describeError(error) }, 'redis unreachable; registering again when it returns');
  }
}
