import { formatAddress, parseAddress } from '../address.ts';
import type { Announced, Membership } from '../membership.ts';
import { parseRecord } from './json-record.ts';
import type { PeerSpec } from '../peer.ts';

/** A registration as stored under `registration:{key}` and pushed with `registered`. */
export interface Registration extends Announced {
  /** How long it lives unless renewed: the registrar renews it well within. */
  readonly ttlMs: number;
  /** When its registrar started (registrar's clock, ms since the epoch): the peer's age. */
  readonly registeredAt: number;
}

export function encodeRegistration({ spec, ttlMs, registeredAt }: Registration): string {
  return JSON.stringify({ weight: spec.weight, backup: spec.backup, ttlMs, registeredAt });
}

/** The registration stored for a peer key, or undefined for anything malformed. */
export function decodeRegistration(key: string, text: string): Registration | undefined {
  const slash = key.indexOf('/');
  if (slash <= 0) return undefined;
  const address = parseAddress(key.slice(slash + 1));
  if ('error' in address) return undefined;
  const value = parseRecord(text);
  if (value === undefined) return undefined;
  const { weight, backup, ttlMs, registeredAt } = value;
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 1 || typeof backup !== 'boolean') return undefined;
  if (typeof ttlMs !== 'number' || !(ttlMs > 0) || typeof registeredAt !== 'number') return undefined;
  const spec: PeerSpec = { ...address, weight, backup };
  return { pool: key.slice(0, slash), spec, ttlMs, registeredAt };
}

/**
 * Keeps a membership in step with the registrations in Redis, for the pools with
 * `discovery: redis`. Pushes add and remove peers at once; a full read (every second) catches
 * what a push missed and the registrations that expired. A peer missing from a read leaves only
 * once the connection has been up for its TTL: Redis restarted empty says nothing about the
 * peers, whose registrars announce them again within that time.
 */
export class RegistrationFollower {
  readonly #membership: Membership;
  readonly #pools: ReadonlySet<string>;
  readonly #ttls = new Map<string, number>();

  constructor(membership: Membership) {
    this.#membership = membership;
    this.#pools = new Set(membership.pools.filter((pool) => pool.config.discovery === 'redis').map((pool) => pool.name));
  }

  /** Whether any pool takes registered peers (else nothing needs reading). */
  get wanted(): boolean {
    return this.#pools.size > 0;
  }

  registered(registration: Registration): void {
    if (!this.#pools.has(registration.pool)) return;
    this.#membership.add(registration.pool, registration.spec, 'redis', registration.registeredAt);
    this.#ttls.set(`${registration.pool}/${formatAddress(registration.spec)}`, registration.ttlMs);
  }

  deregistered(key: string): void {
    const slash = key.indexOf('/');
    if (slash <= 0) return;
    this.#ttls.delete(key);
    this.#membership.remove(key.slice(0, slash), key.slice(slash + 1), 'redis');
  }

  /** A full read of the registrations; `upForMs`: how long the connection it came by has been up. */
  replaceAll(registrations: readonly Registration[], upForMs: number): void {
    const present = new Set<string>();
    for (const registration of registrations) {
      if (!this.#pools.has(registration.pool)) continue;
      present.add(`${registration.pool}/${formatAddress(registration.spec)}`);
      this.registered(registration);
    }
    for (const peer of [...this.#membership.from('redis')]) {
      const key = `${peer.pool}/${peer.id}`;
      if (!present.has(key) && upForMs >= (this.#ttls.get(key) ?? 0)) this.deregistered(key);
    }
  }
}
