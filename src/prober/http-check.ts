import { request } from 'node:http';
import { request as tlsRequest } from 'node:https';
import type { SecureContext } from 'node:tls';
import { formatAddress, type Address } from '../core/address.ts';
import type { CheckResult } from '../core/health.ts';
import { upstreamServerName } from '../core/server-name.ts';
import { failedCheck, type HealthCheck } from './check.ts';

/** How a check speaks TLS to the peers of a TLS pool: the pool's context and verification. */
export interface CheckTls {
  readonly secureContext: SecureContext;
  readonly rejectUnauthorized: boolean;
}

/**
 * Passes when `GET path` on a fresh connection answers with a status below 400 within the
 * timeout. Unlike a TCP check it also catches a peer that accepts connections but hangs.
 */
export class HttpCheck implements HealthCheck {
  readonly #timeoutMs: number;
  readonly #path: string;
  readonly #host: string | undefined;
  readonly #tls: CheckTls | undefined;

  /** With `tls`, the check runs over TLS and verifies the peer as requests to it do. */
  constructor(timeoutMs: number, path: string, host: string | undefined, tls?: CheckTls) {
    this.#timeoutMs = timeoutMs;
    this.#path = path;
    this.#host = host;
    this.#tls = tls;
  }

  check(peer: Address): Promise<CheckResult> {
    const started = performance.now();
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: CheckResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        resolve(result);
      };
      const elapsed = () => performance.now() - started;
      const options = {
        host: peer.host,
        port: peer.port,
        path: this.#path,
        agent: false as const,
        headers: { host: this.#host ?? formatAddress(peer), 'user-agent': 'edgelb-health-check' },
      };
      const req = this.#tls === undefined
        ? request(options)
        : tlsRequest({ ...options, ...this.#tls, servername: upstreamServerName(this.#host, peer.host) });
      const timer = setTimeout(
        () => finish({ ok: false, latencyMs: elapsed(), reason: `no answer within ${this.#timeoutMs}ms` }),
        this.#timeoutMs,
      );
      req.once('response', (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        finish(status < 400 ? { ok: true, latencyMs: elapsed() } : { ok: false, latencyMs: elapsed(), reason: `status ${status}` });
      });
      req.once('error', (error: NodeJS.ErrnoException) => finish(failedCheck(error, elapsed())));
      req.end();
    });
  }
}
