import { readFileSync } from 'node:fs';
import { createSecureContext, getCACertificates } from 'node:tls';
import type { Pool } from '../core/peer.ts';
import type { PoolTls } from '../edge/node/undici-forwarder.ts';

/**
 * How to speak TLS to each TLS pool's peers, for the forwarder and the HTTP health check: one
 * context per pool, built once: peers are verified against the pool's `ca_file`, or
 * else Node's bundled roots together with the system's store. Building it per connection would
 * parse the whole root store on every connect.
 */
export function upstreamTlsByPool(pools: readonly Pool[]): Map<string, PoolTls> {
  const byPool = new Map<string, PoolTls>();
  for (const pool of pools) {
    if (!pool.config.tls) continue;
    const ca = pool.config.ca_file === undefined ? trustedRoots() : readFileSync(pool.config.ca_file);
    byPool.set(pool.name, {
      secureContext: createSecureContext({ ca, minVersion: 'TLSv1.2' }),
      rejectUnauthorized: pool.config.tls_verify,
    });
  }
  return byPool;
}

function trustedRoots(): string[] {
  const roots = new Set(getCACertificates('default'));
  try {
    for (const root of getCACertificates('system')) roots.add(root);
  } catch {
    // A platform without a readable system store still has Node's bundled roots.
  }
  return [...roots];
}
