import { isIP } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisLocation } from '../core/redis-url.ts';

/** Reconnect attempts back off to at most this, so edges and probers catch up soon after an outage. */
const MAX_RECONNECT_DELAY_MS = 1_000;
const CONNECT_TIMEOUT_MS = 2_000;
/**
 * A command unanswered this long means Redis hangs (stopped, swapping, or the path to it gone
 * without a reset): the connection is dropped and made again, so the outage is seen and handled
 * like a refused one, and commands stop piling up on a connection that never answers.
 */
const COMMAND_TIMEOUT_MS = 2_000;
const COMMAND_TIMED_OUT = 'Command timed out';

/**
 * A connection that never queues: while Redis is away a command fails at once instead of
 * piling up, and the caller decides (keep the last known set, rewrite everything on return).
 * It reconnects by itself, forever, backing off to a second.
 */
export function openRedis(location: RedisLocation, name: string, options: { retry?: boolean } = {}): Redis {
  const redis = new Redis({
    ...target(location),
    db: location.db,
    ...(location.username !== undefined ? { username: location.username } : {}),
    ...(location.password !== undefined ? { password: location.password } : {}),
    connectionName: name,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: true,
    retryStrategy: options.retry === false ? () => null : (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
  });
  // Errors surface through the connection events the owner watches; without a listener ioredis
  // would print each one.
  redis.on('error', () => {});
  return redis;
}

/** One server, or the master the Sentinels name now (asked again at every reconnect). */
function target(location: RedisLocation): RedisOptions {
  if (location.sentinels === undefined) {
    // SNI carries host names only; for an IP the certificate is checked against the IP.
    return {
      host: location.host,
      port: location.port,
      ...(location.tls ? { tls: isIP(location.host) ? {} : { servername: location.host } } : {}),
    };
  }
  return {
    sentinels: location.sentinels.map(({ host, port }) => ({ host, port })),
    name: location.master,
    role: 'master',
    ...(location.sentinelPassword !== undefined ? { sentinelPassword: location.sentinelPassword } : {}),
    ...(location.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    // ioredis's `failoverDetector` is not used: when its announcement comes while the connection
    // is already reconnecting (the master died), it ends the connection for good. A master that
    // died is left by reconnecting anyway; one demoted while alive answers writes with READONLY,
    // and that reconnects, asking the Sentinels again.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
    sentinelRetryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
  };
}

/** After a failed command: a timeout means a hung connection, so drop it and connect again. */
export function reconnectIfHung(redis: Redis, error: unknown): void {
  if (error instanceof Error && error.message === COMMAND_TIMED_OUT && redis.status === 'ready') redis.disconnect(true);
}

/**
 * Resolves once connected, or rejects with the first error after `timeoutMs` (at once when the
 * connection gives up retrying). The connection keeps retrying after a timeout.
 */
export function connectWithin(redis: Redis, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let firstError: unknown;
    const onError = (error: unknown) => (firstError ??= error);
    const onEnd = () => done(firstError ?? new Error('connection closed'));
    const onReady = () => done();
    const done = (error?: unknown) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      redis.off('end', onEnd);
      if (error === undefined) resolve();
      else reject(error);
    };
    const timer = setTimeout(() => done(firstError ?? new Error(`no connection within ${timeoutMs}ms`)), timeoutMs);
    redis.on('error', onError);
    redis.once('ready', onReady);
    redis.once('end', onEnd);
    if (redis.status === 'ready') done();
    else if (redis.status === 'wait') redis.connect().catch(onError);
  });
}
