import { parseAddress } from '../core/address.ts';
import type { Config } from '../core/config.ts';
import { parseDuration } from '../core/duration.ts';
import { describeError } from '../core/errors.ts';
import type { RedisLocation } from '../core/redis-url.ts';
import type { Registration } from '../core/shared-health/registration.ts';
import { Registrar } from '../store/redis-registrar.ts';
import type { CliOptions } from './cli-args.ts';
import { createLogger, flushLogs } from './logger.ts';

const DEFAULT_TTL_MS = 10_000;
/** Below this, renewals (every third of the TTL) would be a load on Redis and jitter would end registrations. */
const MIN_TTL_MS = 1_000;
/** How long a stop waits for the deregistration before leaving it to expire. */
const STOP_TIMEOUT_MS = 3_000;

/** The registration the command line asks for, or why it is wrong. */
export function registrationFrom(config: Config, options: CliOptions): Registration | { error: string } {
  const poolName = options.pool!;
  const pool = config.upstreams[poolName];
  if (pool === undefined) return { error: `--pool: no pool "${poolName}" in the config` };
  if (pool.discovery !== 'redis') return { error: `--pool: pool "${poolName}" does not take registered peers (set discovery: redis)` };
  const address = parseAddress(options.addr!);
  if ('error' in address) return { error: `--addr: ${address.error}` };
  const weight = options.weight === undefined ? 1 : Number(options.weight);
  if (!Number.isInteger(weight) || weight < 1 || weight > 1000) return { error: `--weight: "${options.weight}" is not a whole number from 1 to 1000` };
  const ttl = options.ttl === undefined ? { ms: DEFAULT_TTL_MS } : parseDuration(options.ttl);
  if ('error' in ttl) return { error: `--ttl: ${ttl.error}` };
  if (ttl.ms < MIN_TTL_MS) return { error: `--ttl: at least 1s` };
  return { pool: poolName, spec: { ...address, weight, backup: false }, ttlMs: ttl.ms, registeredAt: Date.now() };
}

/**
 * `edgelb register`: a backend's sidecar. It keeps the peer registered while it runs and
 * deregisters it on SIGTERM/SIGINT; killed, it leaves the registration to expire.
 */
export async function runRegisterCommand(config: Config, location: RedisLocation, options: CliOptions): Promise<number> {
  const registration = registrationFrom(config, options);
  if ('error' in registration) {
    process.stderr.write(`edgelb: ${registration.error}\n`);
    return 2;
  }
  const log = createLogger();
  process.on('unhandledRejection', (reason) => log.error({ error: describeError(reason) }, 'unhandled rejection'));
  const registrar = new Registrar({ location, prefix: config.redis_prefix, registration, log });
  registrar.start();
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'deregistering');
      const timeout = new Promise<void>((done) => setTimeout(done, STOP_TIMEOUT_MS).unref());
      void Promise.race([registrar.stop(), timeout]).then(() => {
        flushLogs(log);
        resolve(0);
      });
    };
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) process.on(signal, stop);
    process.on('SIGHUP', () => log.info({ signal: 'SIGHUP' }, 'nothing to reload; restart the sidecar to change its registration'));
  });
}
