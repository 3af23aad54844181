import type { Address } from '../core/address.ts';
import { formatAddress } from '../core/address.ts';
import { ConfigError, describeError } from '../core/errors.ts';
import { loadConfigFile } from './config-file.ts';

/** Where the admin commands look without a config file: the documented admin address. */
const DEFAULT_ADMIN: Address = { host: '127.0.0.1', port: 9900 };

export type AdminSettings = { listen: Address; token?: string | undefined };

/** The admin listener of config file `conf` (or the default one without a file), or why there is none. */
export async function adminOf(conf: string | undefined, purpose: string): Promise<AdminSettings | { error: string }> {
  if (conf === undefined) return { listen: DEFAULT_ADMIN };
  try {
    const config = await loadConfigFile(conf);
    if (config.admin === undefined) return { error: `${conf} has no admin listener to ${purpose}; add e.g. "admin: { listen: 127.0.0.1:9900 }"` };
    return config.admin;
  } catch (error) {
    return { error: error instanceof ConfigError ? error.message : String(describeError(error)) };
  }
}

/** How a command reaches a running balancer's admin listener: its base URL and auth header. */
export interface AdminEndpoint {
  readonly base: string;
  readonly headers: Record<string, string>;
}

export function adminEndpoint(admin: AdminSettings): AdminEndpoint {
  return {
    base: `http://${formatAddress(reachable(admin.listen))}`,
    headers: admin.token === undefined ? {} : { authorization: `Bearer ${admin.token}` },
  };
}

/** A listener on every address is reached on loopback. */
function reachable(address: Address): Address {
  if (address.host === '0.0.0.0') return { ...address, host: '127.0.0.1' };
  if (address.host === '::') return { ...address, host: '::1' };
  return address;
}
