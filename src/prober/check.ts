import type { Address } from '../core/address.ts';
import type { CheckResult } from '../core/health.ts';

/** One kind of health check. The scheduler decides when to run it; the check only answers. */
export interface HealthCheck {
  check(peer: Address): Promise<CheckResult>;
}
