import { describeError } from '../core/errors.ts';
import type { Config } from '../core/config.ts';
import { buildPools } from '../core/peer.ts';
import type { RedisLocation } from '../core/redis-url.ts';
import { runProber } from '../prober/run-prober.ts';
import { createLogger, flushLogs } from './logger.ts';
import { upstreamTlsByPool } from './upstream-tls.ts';

/**
 * `edgelb probe`: the prober as a process of its own. SIGTERM/SIGINT stop it cleanly (it tells
 * the edges it left, so its view stops counting at once); a repeated signal is only logged.
 */
export async function runProbeCommand(config: Config, location: RedisLocation, id: string | undefined): Promise<number> {
  const log = createLogger();
  process.on('unhandledRejection', (reason) => log.error({ error: describeError(reason) }, 'unhandled rejection'));
  let prober;
  try {
    prober = await runProber(config, location, log, id, upstreamTlsByPool(buildPools(config.upstreams)));
  } catch (error) {
    log.fatal({ error: describeError(error) }, 'cannot start');
    flushLogs(log);
    process.stderr.write(`edgelb: cannot start: ${describeError(error)}\n`);
    return 1;
  }
  const running = prober;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.info({ signal }, 'already stopping');
        return;
      }
      stopping = true;
      log.info({ signal }, 'stopping the prober');
      void running.stop().then(() => {
        log.info({}, 'stopped');
        flushLogs(log);
        resolve(0);
      });
    };
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) process.on(signal, stop);
    // Nothing to reload in a prober; without a handler SIGHUP would kill it.
    process.on('SIGHUP', () => log.info({ signal: 'SIGHUP' }, 'nothing to reload; restart the prober to change its config'));
  });
}
