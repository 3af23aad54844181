import packageJson from '../../package.json' with { type: 'json' };
import { ConfigError, describeError } from '../core/errors.ts';
import { HELP, parseCli, type CliOptions } from './cli-args.ts';
import { loadConfigFile } from './config-file.ts';
import { runDrainCommand } from './drain-command.ts';
import { createLogger, flushLogs } from './logger.ts';
import { runEmbedded } from './run-embedded.ts';
import { upstreamTlsByPool } from './upstream-tls.ts';
import { buildPools } from '../core/peer.ts';
import { sharedStoreLocation } from './shared-store-location.ts';
import { runProber } from '../prober/run-prober.ts';
import { runStatus, watchStatus } from './run-status.ts';

/** Exit codes: 0 done, 1 bad config or failure to start, 2 bad command line. */
async function main(argv: readonly string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCli(argv);
  } catch (error) {
    process.stderr.write(`edgelb: ${describeError(error)}\nTry 'edgelb --help'.\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (options.version) {
    process.stdout.write(`edgelb ${packageJson.version}\n`);
    return 0;
  }
  if (options.command === 'drain' || options.command === 'undrain') {
    return runDrainCommand({ ...options, command: options.command, pool: options.pool!, peer: options.peer! });
  }
  if (options.conf === undefined) {
    process.stderr.write(`edgelb: no config file; pass -c FILE (examples/demo.yaml is one)\n`);
    return 2;
  }

  let config;
  try {
    config = await loadConfigFile(options.conf);
  } catch (error) {
    process.stderr.write(`edgelb: ${error instanceof ConfigError ? error.message : describeError(error)}\n`);
    return 1;
  }
  if (options.test) {
    process.stdout.write(`edgelb: the configuration file ${options.conf} is valid\n`);
    return 0;
  }
  const shared = options.command === 'run' ? undefined : sharedStoreLocation(config, options.command);
  if (shared !== undefined && 'error' in shared) {
    process.stderr.write(`edgelb: ${options.conf}: ${shared.error}\n`);
    return 1;
  }
  if (options.command === 'status') return options.watch ? watchStatus(config, shared!) : runStatus(config, shared!, options.json);
  const unavailable = [options.daemon ? '-d/--daemon' : undefined, options.upgrade ? '-u/--upgrade' : undefined].filter(Boolean);
  if (unavailable.length > 0) {
    process.stderr.write(`edgelb: not available in this version: ${unavailable.join(', ')}\n`);
    return 2;
  }

  const log = createLogger();
  if (config.threads > 1) log.warn({ threads: config.threads }, 'threads > 1 is not available yet; running one process');
  process.on('unhandledRejection', (reason) => log.error({ error: describeError(reason) }, 'unhandled rejection'));
  process.on('uncaughtException', (error) => {
    log.fatal({ error: describeError(error), stack: error.stack }, 'uncaught exception; exiting');
    flushLogs(log);
    process.exit(1);
  });

  let running;
  try {
    running = options.command === 'probe'
      ? await runProber(config, shared!, log, options.id, upstreamTlsByPool(buildPools(config.upstreams)))
      : await runEmbedded(config, log);
  } catch (error) {
    log.fatal({ error: describeError(error) }, 'cannot start');
    flushLogs(log);
    process.stderr.write(`edgelb: cannot start: ${describeError(error)}\n`);
    return 1;
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    // The handlers stay installed: a second signal (Ctrl-C reaches a whole process group, and
    // supervisors often repeat SIGTERM) must not fall back to Node's default of dying at once.
    const shutdown = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.info({ signal }, 'already shutting down gracefully');
        return;
      }
      stopping = true;
      if (signal === 'SIGQUIT') log.warn({}, 'graceful upgrade is not available in this version; shutting down instead');
      log.info({ signal, gracePeriodSeconds: config.grace_period_seconds }, 'shutting down gracefully');
      void running.stop().then((result) => {
        if (result?.forced) log.warn({}, 'grace period over; remaining connections were closed');
        log.info({}, 'stopped');
        flushLogs(log);
        resolve(0);
      });
    };
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) process.on(signal, shutdown);

    // SIGHUP re-reads the TLS certificates (they are also reloaded when their files change).
    process.on('SIGHUP', () => {
      if (!('reloadCertificates' in running)) return;
      log.info({ signal: 'SIGHUP' }, 'reloading certificates');
      void running.reloadCertificates();
    });
  });
}

const code = await main(process.argv.slice(2));
// Exit explicitly: a shutdown must not wait on a handle some library forgot to unref.
process.exit(code);
