import { connect } from 'node:net';
import type { Address } from '../core/address.ts';
import type { CheckResult } from '../core/health.ts';
import { failedCheck, type HealthCheck } from './check.ts';

/** Passes when a TCP connection to the peer is established within the timeout. */
export class TcpCheck implements HealthCheck {
  readonly #timeoutMs: number;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  check(peer: Address): Promise<CheckResult> {
    const started = performance.now();
    return new Promise((resolve) => {
      const socket = connect({ host: peer.host, port: peer.port, noDelay: true });
      const finish = (result: CheckResult) => {
        socket.destroy();
        resolve(result);
      };
      const elapsed = () => performance.now() - started;
      socket.setTimeout(this.#timeoutMs, () =>
        finish({ ok: false, latencyMs: elapsed(), reason: `no connection within ${this.#timeoutMs}ms` }));
      socket.once('connect', () => finish({ ok: true, latencyMs: elapsed() }));
      socket.once('error', (error: NodeJS.ErrnoException) => finish(failedCheck(error, elapsed(), 'connect ')));
    });
  }
}
