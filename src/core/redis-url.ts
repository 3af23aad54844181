/** What a `redis` config value names: where the shared health store is and how to reach it. */
export interface RedisLocation {
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
}

const DEFAULT_PORT = 6379;
const MAX_DB = 15;

/**
 * Checks a `redis://[[user]:password@]host[:port][/db]` or `rediss://` (TLS) URL. Checked here
 * rather than left to the client so that a typo is a config error naming the key, not a
 * connection that retries forever.
 */
export function parseRedisUrl(text: string): RedisLocation | { error: string } {
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
