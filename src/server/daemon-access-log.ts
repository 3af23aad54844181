import { dirname, join } from 'node:path';
import type { Config } from '../core/config.ts';

/** Set by the launcher of a background edgelb: the file `access_log: true` writes to instead of stdout. */
export const DAEMON_ACCESS_LOG = 'EDGELB_DAEMON_ACCESS_LOG';

/**
 * In the background stdout goes to `error_log`, so the default access log (stdout) gets a file of
 * its own beside it: `edgelb_access.log` in the error log's directory, or in /tmp without one.
 */
export function daemonAccessLog(config: Pick<Config, 'error_log'>): string {
  return join(config.error_log === undefined ? '/tmp' : dirname(config.error_log), 'edgelb_access.log');
}

/** Where the access log goes: `true` is stdout, but in the background the file named above. */
export function accessLogTarget(target: true | string): true | string {
  return target === true ? (process.env[DAEMON_ACCESS_LOG] ?? true) : target;
}
