import type { Address } from '../core/address.ts';
import { formatAddress } from '../core/address.ts';

/** How a command reaches a running balancer's admin listener: its base URL and auth header. */
export interface AdminEndpoint {
  readonly base: string;
  readonly headers: Record<string, string>;
}

export function adminEndpoint(admin: { listen: Address; token?: string | undefined }): AdminEndpoint {
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
