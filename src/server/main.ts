import packageJson from '../../package.json' with { type: 'json' };
import { ConfigError, describeError } from '../core/errors.ts';
import { HELP, parseCli, type CliOptions } from './cli-args.ts';
import { configWarnings } from '../core/routing/shadowed-routes.ts';
import { loadConfigFile } from './config-file.ts';
import { runAdminStatus } from './admin-status.ts';
import { runDrainCommand } from './drain-command.ts';
import { createLogger, flushLogs } from './logger.ts';
import { launch } from './process/launcher.ts';
import { bindHeldSockets } from './process/listen-sockets.ts';
import { runPrimary } from './process/primary.ts';
import { sharedStoreLocation } from './shared-store-location.ts';

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
  if (options.command === 'peers') {
    const { runPeersCommand } = await import('./peers-command.ts');
    return runPeersCommand({ ...options, action: options.action!, pool: options.pool!, peer: options.peer! });
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
  for (const warning of configWarnings(config)) process.stderr.write(`edgelb: ${options.conf}: warning: ${warning}\n`);
  if (options.test) {
    process.stdout.write(`edgelb: the configuration file ${options.conf} is valid\n`);
    return 0;
  }
  // Embedded mode keeps the health inside the running balancer: status asks its admin listener.
  if (options.command === 'status' && config.redis === undefined && config.admin !== undefined) {
    return runAdminStatus(config.admin, options);
  }
  const shared = options.command === 'run' ? undefined : sharedStoreLocation(config, options.command);
  if (shared !== undefined && 'error' in shared) {
    process.stderr.write(`edgelb: ${options.conf}: ${shared.error}\n`);
    return 1;
  }
  // The Redis client's code is loaded only by the commands that talk to Redis, so a balancer
  // in embedded mode never carries it.
  if (options.command === 'status') {
    const { runStatus, watchStatus } = await import('./run-status.ts');
    return options.watch ? watchStatus(config, shared!) : runStatus(config, shared!, options.json);
  }
  if (options.command === 'probe') {
    const { runProbeCommand } = await import('./probe-command.ts');
    return runProbeCommand(config, shared!, options.id);
  }
  if (options.command === 'register') {
    const { runRegisterCommand } = await import('./register-command.ts');
    return runRegisterCommand(config, shared!, options);
  }
  if (options.daemon || options.upgrade || config.daemon) {
    return launch({ configFile: options.conf, config, daemon: options.daemon || config.daemon, upgrade: options.upgrade });
  }

  const log = createLogger();
  process.on('unhandledRejection', (reason) => log.error({ error: describeError(reason) }, 'unhandled rejection'));
  process.on('uncaughtException', (error) => {
    log.fatal({ error: describeError(error), stack: error.stack }, 'uncaught exception; exiting');
    flushLogs(log);
    process.exit(1);
  });

  // In the foreground this process is the primary (see src/server/process/primary.ts).
  try {
    return await runPrimary({ config, configFile: options.conf, sockets: bindHeldSockets(config), log });
  } catch (error) {
    log.fatal({ error: describeError(error) }, 'cannot start');
    flushLogs(log);
    process.stderr.write(`edgelb: cannot start: ${describeError(error)}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
// Exit explicitly: a shutdown must not wait on a handle some library forgot to unref.
process.exit(code);
