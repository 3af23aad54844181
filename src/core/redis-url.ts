import { formatAddress, type Address } from './address.ts';

/**
 * What a `redis` config value names: where the shared health store is and how to reach it.
 * Either one server (`host`, `port`), or a master that Sentinels watch and name (`sentinels`,
 * `master`): after a failover, connections follow the Sentinels to the new master.
 */
export type RedisLocation = RedisServerLocation | RedisSentinelLocation;

interface RedisAccess {
  readonly tls: boolean;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
}

export interface RedisServerLocation extends RedisAccess {
  readonly host: string;
  readonly port: number;
  readonly sentinels?: undefined;
}

export interface RedisSentinelLocation extends RedisAccess {
  readonly sentinels: readonly Address[];
  readonly master: string;
  /** The Sentinels' own password, when they have one (`requirepass` in sentinel.conf). */
  readonly sentinelPassword?: string;
}

/** The `redis` key's object form, as the config schema has checked it. */
export interface RedisSentinelConfig {
  readonly sentinels: readonly Address[];
  readonly master: string;
  readonly db: number;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly sentinel_password?: string | undefined;
  readonly tls: boolean;
}

/** Where the `redis` key points, for every process that connects to it. */
export function redisLocation(value: string | RedisSentinelConfig): RedisLocation | { error: string } {
  if (typeof value === 'string') return parseRedisUrl(value);
  return {
    sentinels: value.sentinels,
    master: value.master,
    db: value.db,
    tls: value.tls,
    ...(value.username !== undefined ? { username: value.username } : {}),
    ...(value.password !== undefined ? { password: value.password } : {}),
    ...(value.sentinel_password !== undefined ? { sentinelPassword: value.sentinel_password } : {}),
  };
}

/** The `redis` key for logs and status output, without its passwords. */
export function describeRedis(value: string | RedisSentinelConfig | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return redactRedisUrl(value);
  return `sentinel master "${value.master}" via ${value.sentinels.map(formatAddress).join(', ')} db ${value.db}`;
}

const DEFAULT_PORT = 6379;
const MAX_DB = 15;

/**
 * Checks a `redis://[[user]:password@]host[:port][/db]` or `rediss://` (TLS) URL. Checked here
 * rather than left to the client so that a typo is a config error naming the key, not a
 * connection that retries forever.
 */
export function parseRedisUrl(text: string): RedisServerLocation | { error: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { error: `"${maskPassword(text)}" is not a URL (use redis://host:port/db or rediss://host:port/db)` };
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    return { error: `"${url.protocol}" is not a Redis scheme (use redis:// or rediss:// for TLS)` };
  }
  if (!url.hostname) return { error: 'names no host (use redis://host:port/db)' };
  const port = url.port === '' ? DEFAULT_PORT : Number(url.port);
  const dbText = url.pathname.replace(/^\//, '');
  if (!/^\d*$/.test(dbText) || Number(dbText) > MAX_DB) {
    return { error: `database "${dbText}" must be a number from 0 to ${MAX_DB} (redis://host:port/0)` };
  }
  if (url.search || url.hash) return { error: 'takes no query or fragment' };
  const username = decodeCredential(url.username);
  const password = decodeCredential(url.password);
  if (username === undefined || password === undefined) {
    return { error: 'user name or password is not valid percent-encoding (write "%" as %25)' };
  }
  return {
    tls: url.protocol === 'rediss:',
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    db: Number(dbText || 0),
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
  };
}

function decodeCredential(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** Masks what sits between "user:" and "@", for text that did not even parse as a URL. */
function maskPassword(text: string): string {
  return text.replace(/^([^:]*:\/\/[^:@/]*:).*@/, '$1***@');
}

/** The URL with its password masked, for logs and status output. */
export function redactRedisUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(invalid URL)';
  }
}
