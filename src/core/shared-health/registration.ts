import { formatAddress, parseAddress } from '../address.ts';
import type { Announced, Membership } from '../membership.ts';
import { parseRecord } from './json-record.ts';
import { peerKey, splitPeerKey, type SharedHealthMessage } from './keys.ts';
import type { PeerSpec } from '../peer.ts';

/** A registration as stored under `registration:{key}` and pushed with `registered`. */
export interface Registration extends Announced {
  /** How long it lives unless renewed: the registrar renews it well within. */
  readonly ttlMs: number;
  /** When its registrar started (registrar's clock, ms since the epoch): the peer's age. */
  readonly registeredAt: number;
}

/** The peer key (`pool/host:port`) a registration is stored and announced under. */
export function registrationKey({ pool, spec }: Announced): string {
  return peerKey({ pool, id: formatAddress(spec) });
}

export function encodeRegistration({ spec, ttlMs, registeredAt }: Registration): string {
  return JSON.stringify({ weight: spec.weight, backup: spec.backup, ttlMs, registeredAt });
}

/** The registration stored for a peer key, or undefined for anything malformed. */
export function decodeRegistration(key: string, text: string): Registration | undefined {
  const named = splitPeerKey(key);
  if (named === undefined) return undefined;
  const address = parseAddress(named.id);
  if ('error' in address) return undefined;
  const value = parseRecord(text);
  if (value === undefined) return undefined;
  const { weight, backup, ttlMs, registeredAt } = value;
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 1 || typeof backup !== 'boolean') return undefined;
  if (typeof ttlMs !== 'number' || !(ttlMs > 0) || typeof registeredAt !== 'number') return undefined;
  const spec: PeerSpec = { ...address, weight, backup };
  return { pool: named.pool, spec, ttlMs, registeredAt };
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

  /** A pushed message: a registration or deregistration is applied; anything else is not this follower's. */
  follow(message: SharedHealthMessage): void {
    if (message.type === 'registered') {
      const registration = decodeRegistration(message.peer, message.registration);
      if (registration !== undefined) this.registered(registration);
    } else if (message.type === 'deregistered') {
      this.deregistered(message.peer);
    }
  }

  registered(registration: Registration): void {
    if (!this.#pools.has(registration.pool)) return;
    this.#membership.add(registration.pool, registration.spec, 'redis', registration.registeredAt);
    this.#ttls.set(registrationKey(registration), registration.ttlMs);
  }

  deregistered(key: string): void {
    const named = splitPeerKey(key);
    if (named === undefined) return;
    this.#ttls.delete(key);
    this.#membership.remove(named.pool, named.id, 'redis');
  }

  /** A full read of the registrations; `upForMs`: how long the connection it came by has been up. */
  replaceAll(registrations: readonly Registration[], upForMs: number): void {
    const present = new Set<string>();
    for (const registration of registrations) {
      if (!this.#pools.has(registration.pool)) continue;
      present.add(registrationKey(registration));
      this.registered(registration);
    }
    for (const peer of [...this.#membership.from('redis')]) {
      const key = peerKey(peer);
      if (!present.has(key) && upForMs >= (this.#ttls.get(key) ?? 0)) this.deregistered(key);
    }
  }
}
