import type { Logger } from 'pino';
import type { Config } from '../../core/config.ts';
import { formatAddress } from '../../core/address.ts';
import { ConfigError, describeError } from '../../core/errors.ts';
import { configWarnings } from '../../core/routing/shadowed-routes.ts';
import { loadConfigFile } from '../config-file.ts';

/**
 * The config for a SIGHUP reload, or undefined (logged) when the file is broken: a bad edit never
 * takes a running balancer down. The listening sockets stay those of the running instance; a
 * change to `listen` (or to the process settings) takes effect with a graceful upgrade (-u).
 */
export async function reloadedConfig(configFile: string, running: Config, log: Logger): Promise<Config | undefined> {
  let next: Config;
  try {
    next = await loadConfigFile(configFile);
  } catch (error) {
    const problems = error instanceof ConfigError ? error.problems : [describeError(error)];
    log.error({ configFile, problems }, 'the configuration file is invalid; keeping the running configuration');
    return undefined;
  }
  for (const warning of configWarnings(next)) log.warn({ configFile, warning }, 'configuration warning');
  const listening = running.listen.map(formatAddress).join(',');
  if (next.listen.map(formatAddress).join(',') !== listening) {
    log.warn({ listen: running.listen.map(formatAddress) }, 'listen addresses change with a graceful upgrade (-u), not a reload; keeping them');
  }
  // The admin listener's socket is held like the others: its address stays; its token may change.
  const admin = running.admin === undefined ? undefined : { ...running.admin, token: next.admin?.token };
  if (formatAddress(next.admin?.listen ?? { host: '', port: 0 }) !== formatAddress(running.admin?.listen ?? { host: '', port: 0 })) {
    log.warn({}, 'the admin listener changes with a graceful upgrade (-u), not a reload; keeping it');
  }
  return { ...next, listen: running.listen, admin, pid_file: running.pid_file, upgrade_sock: running.upgrade_sock, error_log: running.error_log };
}
