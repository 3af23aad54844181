import { lookup, Resolver } from 'node:dns/promises';
import { formatAddress } from '../core/address.ts';
import type { DnsName } from '../core/config.ts';
import { describeError } from '../core/errors.ts';
import type { Log } from '../core/log.ts';
import type { Membership } from '../core/membership.ts';
import type { PeerSpec, Pool } from '../core/peer.ts';

/** The first lookups at start wait this long at most; the listeners open either way. */
const FIRST_LOOKUP_TIMEOUT_MS = 3_000;
/** An SRV weight says how to share among equals; ours are 1 to 1000. */
const MAX_WEIGHT = 1000;

/**
 * `discovery: { dns }`: looks up each such pool's name every `interval` and makes the pool's DNS
 * peers what the answer says: A/AAAA records with the configured port, or SRV records (target,
 * port, weight; records of a higher priority than the lowest are backups). A failed lookup
 * keeps the last answer, so a resolver's hiccup never empties a pool; peers missing from an
 * answer leave (drained first, like every leaving peer).
 */
export class DnsDiscovery {
  readonly #membership: Membership;
  readonly #log: Log;
  readonly #pools: DnsPool[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  #stopped = false;

  constructor(membership: Membership, log: Log) {
    this.#membership = membership;
    this.#log = log;
    for (const pool of membership.pools) {
      const discovery = pool.config.discovery;
      if (typeof discovery === 'object') this.#pools.push({ pool, settings: discovery, resolver: resolverFor(discovery), failing: false });
    }
  }

  get wanted(): boolean {
    return this.#pools.length > 0;
  }

  /** Looks every name up once (bounded), then keeps looking them up each interval. */
  async start(): Promise<void> {
    const first = Promise.all(this.#pools.map((entry) => this.#refresh(entry)));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([first, new Promise<void>((resolve) => (timer = setTimeout(resolve, FIRST_LOOKUP_TIMEOUT_MS)))]);
    clearTimeout(timer);
    for (const entry of this.#pools) this.#schedule(entry);
  }

  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #schedule(entry: DnsPool): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.#refresh(entry).then(() => this.#schedule(entry));
    }, entry.settings.interval);
    timer.unref();
    this.#timers.add(timer);
  }

  async #refresh(entry: DnsPool): Promise<void> {
    const { pool, settings } = entry;
    let answer: PeerSpec[];
    try {
      answer = await resolvePeers(settings, entry.resolver);
    } catch (error) {
      if (!entry.failing) {
        this.#log.warn({ pool: pool.name, name: settings.dns.name, error: describeError(error) }, 'dns lookup failed; keeping the last answer');
      }
      entry.failing = true;
      return;
    }
    if (this.#stopped) return;
    if (entry.failing) this.#log.info({ pool: pool.name, name: settings.dns.name, peers: answer.length }, 'dns lookup answers again');
    entry.failing = false;
    const ids = new Set(answer.map((spec) => formatAddress(spec)));
    for (const peer of pool.peers.filter((candidate) => candidate.source === 'dns' && !ids.has(candidate.id))) {
      this.#membership.remove(pool.name, peer.id, 'dns');
    }
    for (const spec of answer) this.#membership.add(pool.name, spec, 'dns');
  }
}

interface DnsPool {
  readonly pool: Pool;
  readonly settings: DnsSettings;
  /** The configured name servers, asked for every lookup; absent: the system's resolver. */
  readonly resolver: Resolver | undefined;
  /** The last lookup failed (logged once per run of failures). */
  failing: boolean;
}

interface DnsSettings {
  readonly dns: DnsName;
  readonly interval: number;
  readonly nameservers?: ReadonlyArray<{ readonly host: string; readonly port: number }> | undefined;
}

/** Made once per pool, not per lookup. */
function resolverFor(settings: DnsSettings): Resolver | undefined {
  if (settings.nameservers === undefined) return undefined;
  const resolver = new Resolver({ timeout: 2_000, tries: 2 });
  resolver.setServers(settings.nameservers.map(formatAddress));
  return resolver;
}

/** SRV records have no getaddrinfo(): without name servers of its own, a pool asks the system's through this one. */
let systemResolver: Resolver | undefined;

/** The peers a name stands for now; throws when the lookup fails (not when it answers nothing). */
async function resolvePeers(settings: DnsSettings, resolver: Resolver | undefined): Promise<PeerSpec[]> {
  const { dns } = settings;
  if (dns.kind === 'address') {
    return (await addressesOf(dns.name, resolver)).map((host) => ({ host, port: dns.port, weight: 1, backup: false }));
  }
  const records = await (resolver ?? (systemResolver ??= new Resolver())).resolveSrv(dns.name);
  const primary = Math.min(...records.map((record) => record.priority));
  const specs = await Promise.all(records.map(async (record) => (await addressesOf(record.name, resolver)).map((host) => ({
    host,
    port: record.port,
    weight: Math.min(MAX_WEIGHT, Math.max(1, record.weight)),
    backup: record.priority > primary,
  }))));
  return specs.flat();
}

/** A and AAAA: through the system's resolver (`/etc/hosts` too), or the configured name servers. */
async function addressesOf(name: string, resolver: Resolver | undefined): Promise<string[]> {
  if (resolver === undefined) return (await lookup(name, { all: true })).map((entry) => entry.address);
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
  if (v4.status === 'rejected' && v6.status === 'rejected') throw v4.reason;
  return [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
}
