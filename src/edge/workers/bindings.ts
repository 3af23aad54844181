import type { Config } from '../../core/config.ts';
import { parseConfigText } from '../../core/config-text.ts';
import { parseDuration } from '../../core/duration.ts';
import { ConfigError } from '../../core/errors.ts';
import { parseRedisUrl, type RedisLocation } from '../../core/redis-url.ts';

/** What the Cloudflare Worker is given: the config as a variable, Redis credentials as secrets. */
export interface WorkersBindings {
  /** The config file's schema as YAML or JSON text. */
  readonly EDGELB_CONFIG?: string;
  /** Secrets (`wrangler secret put`): they take the place of credentials in the `redis` URL. */
  readonly EDGELB_REDIS_USERNAME?: string;
  readonly EDGELB_REDIS_PASSWORD?: string;
  /** How old the copy of the shared health may get before a request starts a re-read (default 1s). */
  readonly EDGELB_HEALTH_TTL?: string;
  readonly LOG_LEVEL?: string;
}

export interface WorkersConfig {
  readonly config: Config;
  /** Where the prober's shared health is; absent: every configured peer is served. */
  readonly redis?: RedisLocation;
  readonly healthTtlMs?: number;
}

/**
 * The Cloudflare Worker's config from its bindings, validated by the same schema as the YAML
 * file. Keys that only mean something to a Node process (listen, threads, pid_file, ...) are
 * accepted and unused, so one file can serve both.
 */
export function configFromBindings(env: WorkersBindings): WorkersConfig {
  const text = env.EDGELB_CONFIG;
  if (text === undefined || text.trim() === '') throw new ConfigError(['EDGELB_CONFIG: required: the config as YAML or JSON text'], 'EDGELB_CONFIG');
  const config = parseConfigText(text, 'EDGELB_CONFIG');
  const unsupported = unsupportedOnWorkers(config);
  if (unsupported.length > 0) throw new ConfigError(unsupported, 'EDGELB_CONFIG');
  if (config.redis === undefined) return { config };
  if (typeof config.redis !== 'string') {
    throw new ConfigError(['redis: the Sentinel form is not available on Workers (give the redis:// URL of a Redis the Worker can reach)'], 'EDGELB_CONFIG');
  }
  const parsed = parseRedisUrl(config.redis);
  // The schema has checked the URL already.
  if ('error' in parsed) throw new ConfigError([`redis: ${parsed.error}`], 'EDGELB_CONFIG');
  const redis: RedisLocation = {
    ...parsed,
    ...(env.EDGELB_REDIS_USERNAME ? { username: env.EDGELB_REDIS_USERNAME } : {}),
    ...(env.EDGELB_REDIS_PASSWORD ? { password: env.EDGELB_REDIS_PASSWORD } : {}),
  };
  if (env.EDGELB_HEALTH_TTL === undefined) return { config, redis };
  const ttl = parseDuration(env.EDGELB_HEALTH_TTL);
  if ('error' in ttl) throw new ConfigError([`EDGELB_HEALTH_TTL: ${ttl.error}`], 'EDGELB_HEALTH_TTL');
  return { config, redis, healthTtlMs: ttl.ms };
}

/** Settings a `fetch()` cannot honour: refused rather than silently ignored. */
function unsupportedOnWorkers(config: Config): string[] {
  const problems: string[] = [];
  for (const [name, pool] of Object.entries(config.upstreams)) {
    if (pool.ca_file !== undefined) problems.push(`upstreams.${name}.ca_file: not available on Workers (fetch() verifies peers against the runtime's trust store)`);
    if (typeof pool.discovery === 'object') problems.push(`upstreams.${name}.discovery: DNS discovery is not available on Workers (register the peers in redis instead)`);
    if (!pool.tls_verify) problems.push(`upstreams.${name}.tls_verify: not available on Workers (fetch() always verifies peers)`);
  }
  return problems;
}
