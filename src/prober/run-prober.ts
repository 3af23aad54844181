import { hostname } from 'node:os';
import type { Config } from '../core/config.ts';
import { describeRedis, type RedisLocation } from '../core/redis-url.ts';
import type { Log } from '../core/log.ts';
import { Membership } from '../core/membership.ts';
import { membershipLog } from '../core/membership-log.ts';
import { buildPools, type Peer } from '../core/peer.ts';
import type { PeerState } from '../core/health.ts';
import { MemoryHealthStore } from '../store/memory.ts';
import { DnsDiscovery } from '../store/dns-discovery.ts';
import { RegistrationWatch } from '../store/redis-registration-watch.ts';
import { RedisWriter } from '../store/redis-writer.ts';
import { probeLogEvents } from './probe-log.ts';
import type { CheckTls } from './http-check.ts';
import { ProbeScheduler } from './scheduler.ts';

export interface RunningProber {
  readonly id: string;
  stop(): Promise<void>;
}

/** A prober id unique on this host unless the operator names one. */
export function defaultProberId(): string {
  return `${hostname()}-${process.pid}`;
}

/**
 * `edgelb probe`: checks every peer of every pool each interval and writes what it sees to
 * Redis for the edges. Its own copy of the states lives in memory, so Redis being away stops
 * nothing: the checks go on and the whole view is written when Redis returns.
 */
/** `checkTls`: how HTTP checks speak TLS to the peers of pools with `tls: true`. */
export async function runProber(
  config: Config, location: RedisLocation, log: Log, id = defaultProberId(), checkTls: ReadonlyMap<string, CheckTls> = new Map(),
): Promise<RunningProber> {
  const pools = buildPools(config.upstreams);
  const membership = new Membership(pools);
  const states = new MemoryHealthStore(pools);
  const writer = new RedisWriter({
    location,
    prefix: config.redis_prefix,
    proberId: id,
    host: hostname(),
    log,
    states: function* () {
      for (const pool of pools) {
        for (const peer of pool.peers) {
          const state = states.state(peer);
          if (state !== undefined) yield [peer, state] as readonly [Peer, PeerState];
        }
      }
    },
  });
  const scheduler = new ProbeScheduler(pools, states, {
    ...probeLogEvents(log),
    onCheck: (peer, state, changed) => writer.write(peer, state, changed),
  }, checkTls);
  membership.listen(membershipLog(log));
  membership.listen(states);
  membership.listen(scheduler);
  membership.listen(writer);
  const registrations = new RegistrationWatch(membership, location, config.redis_prefix, log);
  const dns = new DnsDiscovery(membership, log);
  writer.start();
  if (registrations.wanted) registrations.start();
  if (dns.wanted) await dns.start();
  await scheduler.start();
  log.info(
    { prober: id, redis: describeRedis(config.redis), prefix: config.redis_prefix, peers: pools.reduce((n, pool) => n + pool.peers.length, 0) },
    'prober started',
  );
  return {
    id,
    async stop() {
      if (registrations.wanted) registrations.stop();
      dns.stop();
      scheduler.stop();
      await writer.stop();
    },
  };
}
