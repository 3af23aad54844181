import { describeError } from '../core/errors.ts';
import type { CliOptions } from './cli-args.ts';
import { adminEndpoint, adminOf } from './admin-client.ts';

/**
 * `edgelb drain|undrain POOL PEER [-c FILE]`: asks the running balancer, through its admin
 * listener (address and token from FILE), to take a peer out of rotation or put it back.
 * Exit codes: 0 done, 1 the balancer could not be reached or refused.
 */
export async function runDrainCommand(options: CliOptions & { command: 'drain' | 'undrain'; pool: string; peer: string }): Promise<number> {
  const admin = await adminOf(options.conf, 'drain through');
  if ('error' in admin) return fail(admin.error);
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

export function fail(message: string): number {
  process.stderr.write(`edgelb: ${message}\n`);
  return 1;
}
