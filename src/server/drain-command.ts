import type { Address } from '../core/address.ts';
import { ConfigError, describeError } from '../core/errors.ts';
import type { CliOptions } from './cli-args.ts';
import { adminEndpoint } from './admin-client.ts';
import { loadConfigFile } from './config-file.ts';

/** Where `edgelb drain` looks without a config file: the documented admin address. */
const DEFAULT_ADMIN: Address = { host: '127.0.0.1', port: 9900 };

/**
 * `edgelb drain|undrain POOL PEER [-c FILE]`: asks the running balancer, through its admin
 * listener (address and token from FILE), to take a peer out of rotation or put it back.
 * Exit codes: 0 done, 1 the balancer could not be reached or refused.
 */
export async function runDrainCommand(options: CliOptions & { command: 'drain' | 'undrain'; pool: string; peer: string }): Promise<number> {
  let admin: { listen: Address; token?: string | undefined } = { listen: DEFAULT_ADMIN };
  if (options.conf !== undefined) {
    try {
      const config = await loadConfigFile(options.conf);
      if (config.admin === undefined) {
        return fail(`${options.conf} has no admin listener to drain through; add e.g. "admin: { listen: 127.0.0.1:9900 }"`);
      }
      admin = config.admin;
    } catch (error) {
      return fail(error instanceof ConfigError ? error.message : String(describeError(error)));
    }
  }
  const { base, headers } = adminEndpoint(admin);
  const path = `/pools/${encodeURIComponent(options.pool)}/peers/${encodeURIComponent(options.peer)}/${options.command}`;
  let response: Response;
  try {
    response = await fetch(base + path, {
      method: 'POST',
      headers,
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    return fail(`cannot reach the admin listener at ${base}: ${describeError((error as { cause?: unknown }).cause ?? error)}`);
  }
  const body = await response.json().catch(() => ({})) as { error?: string; state?: string; inFlight?: number };
  if (response.status === 401) return fail(`the admin listener at ${base} refused the token`);
  if (!response.ok) return fail(body.error ?? `the admin listener at ${base} answered ${response.status}`);
  const inFlight = body.inFlight === 1 ? '1 request' : `${body.inFlight ?? 0} requests`;
  process.stdout.write(options.command === 'drain'
    ? `edgelb: ${options.peer} in pool ${options.pool} is draining: no new requests, ${inFlight} in flight\n`
    : `edgelb: ${options.peer} in pool ${options.pool} is back in rotation (${body.state ?? 'unknown'})\n`);
  return 0;
}

function fail(message: string): number {
  process.stderr.write(`edgelb: ${message}\n`);
  return 1;
}
