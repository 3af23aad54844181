import { ProxyError } from '../core/errors.ts';
import type { RetryOn } from '../core/peer.ts';
import { isIdempotent } from './idempotent.ts';

/**
 * What went wrong with one attempt, as the runtime's error classifier reads its own errors
 * (undici's and Node's codes, or what `fetch()` reports). The kinds say how much of the request
 * may have reached the peer, which is all the retry decision needs.
 */
export type FailureKind =
  /** No connection: nothing reached the peer. */
  | 'connect_failed'
  /** The connection was not made within `connect_timeout`: nothing reached the peer. */
  | 'connect_timeout'
  /** The peer's TLS certificate was refused before anything was sent. */
  | 'tls_rejected'
  /** The connection broke after the request may have been sent. */
  | 'connection_lost'
  /** The peer took longer than `read_timeout`. */
  | 'timeout'
  /** The peer answered with a status the pool's `retry_on` names. */
  | 'status'
  /** Anything else: the peer's answer was not usable HTTP, or the runtime failed. */
  | 'failed';

export interface AttemptFailure {
  readonly kind: FailureKind;
  /** Whether any of the client's body was handed to this attempt: then it cannot be sent again. */
  readonly bodySent: boolean;
  /** What the runtime threw, for the log line. */
  readonly error: unknown;
  /** The code that names it in the client's answer, for a refused certificate. */
  readonly code?: string;
  /** The peer's answer, for a `status` failure. */
  readonly status?: number;
}

/**
 * Whether a failed attempt may go to the next peer without risking a request being done twice,
 * by the pool's `retry_on`: a connect failure (nothing reached the peer) for any method, and
 * for idempotent requests a lost connection (with `connect_failure`), a timeout (with `timeout`)
 * or an answer status it names; never once any of the client's body was consumed.
 */
export function mayRetry(failure: AttemptFailure, method: string, retryOn: RetryOn): boolean {
  if (failure.bodySent) return false;
  switch (failure.kind) {
    case 'connect_failed':
    case 'connect_timeout':
    case 'tls_rejected':
      return retryOn.connectFailure;
    case 'connection_lost':
      return retryOn.connectFailure && isIdempotent(method);
    case 'timeout':
      return retryOn.timeout && isIdempotent(method);
    case 'status':
      return retryOn.statuses.has(failure.status!) && isIdempotent(method);
    default:
      return false;
  }
}

/** The error the client is told about once no (further) peer can be tried. */
export function failureProxyError(failure: AttemptFailure): ProxyError {
  const options = { cause: failure.error };
  switch (failure.kind) {
    case 'connect_timeout':
    case 'timeout':
      return new ProxyError('upstream_timeout', 'the upstream server did not answer in time', options);
    case 'status':
      return failure.status === 504
        ? new ProxyError('upstream_timeout', 'the upstream server answered 504', options)
        : new ProxyError('bad_gateway', `the upstream server answered ${failure.status}`, options);
    case 'tls_rejected':
      return new ProxyError('bad_gateway', `the upstream server's TLS certificate failed verification (${failure.code ?? 'rejected'})`, options);
    default:
      return new ProxyError('bad_gateway', 'the upstream server could not be reached or failed', options);
  }
}
