import type { Address } from '../core/address.ts';
import type { CheckResult } from '../core/health.ts';

/** One kind of health check. The scheduler decides when to run it; the check only answers. */
export interface HealthCheck {
  check(peer: Address): Promise<CheckResult>;
}

/** Errors of the prober's own host, not of the peer: a check that hits one is inconclusive. */
const LOCAL_ERRORS = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'EADDRNOTAVAIL', 'ENOMEM']);

/** The result of a check that failed with `error`. */
export function failedCheck(error: NodeJS.ErrnoException, latencyMs: number, prefix = ''): CheckResult {
  const code = error.code ?? error.message;
  return { ok: false, latencyMs, reason: `${prefix}${code}`, inconclusive: LOCAL_ERRORS.has(code) };
}
