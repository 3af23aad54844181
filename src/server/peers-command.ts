import { describeError } from '../core/errors.ts';
import type { CliOptions } from './cli-args.ts';
import { adminEndpoint, adminOf } from './admin-client.ts';
import { fail } from './drain-command.ts';

/**
 * `edgelb peers add|remove POOL HOST:PORT [--weight N] [-c FILE]`: changes a pool's peers in the
 * running balancer (embedded mode) through its admin listener. A removed peer takes no new
 * request; those in flight finish. Exit codes: 0 done, 1 refused or unreachable.
 */
export async function runPeersCommand(options: CliOptions & { action: 'add' | 'remove'; pool: string; peer: string }): Promise<number> {
  const admin = await adminOf(options.conf, 'change peers through');
  if ('error' in admin) return fail(admin.error);
  const { base, headers } = adminEndpoint(admin);
  const pool = encodeURIComponent(options.pool);
  const adding = options.action === 'add';
  let response: Response;
  try {
    response = await fetch(adding ? `${base}/pools/${pool}/peers` : `${base}/pools/${pool}/peers/${encodeURIComponent(options.peer)}`, {
      method: adding ? 'POST' : 'DELETE',
      headers: adding ? { ...headers, 'content-type': 'application/json' } : headers,
      ...(adding ? { body: JSON.stringify({ addr: options.peer, weight: options.weight === undefined ? 1 : Number(options.weight) }) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    return fail(`cannot reach the admin listener at ${base}: ${describeError((error as { cause?: unknown }).cause ?? error)}`);
  }
  const body = await response.json().catch(() => ({})) as { error?: string; inFlight?: number };
  if (response.status === 401) return fail(`the admin listener at ${base} refused the token`);
  if (!response.ok) return fail(body.error ?? `the admin listener at ${base} answered ${response.status}`);
  const inFlight = body.inFlight === 1 ? '1 request' : `${body.inFlight ?? 0} requests`;
  process.stdout.write(adding
    ? `edgelb: ${options.peer} joined pool ${options.pool}; it takes requests once its health check passes\n`
    : `edgelb: ${options.peer} left pool ${options.pool}; ${inFlight} in flight finish\n`);
  return 0;
}
