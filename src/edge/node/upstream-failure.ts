import type { AttemptFailure, FailureKind } from '../attempt-failure.ts';

/** Failures before the connection existed: nothing reached the peer. */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL',
]);

/**
 * The peer's TLS certificate was not accepted (OpenSSL's verification codes and Node's name
 * check). Like a refused connection, nothing was sent yet, so the next peer may be tried.
 */
const CERTIFICATE_REJECTED = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_SIGNATURE_FAILURE', 'CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED', 'CERT_REVOKED', 'CERT_UNTRUSTED',
  'CERT_REJECTED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'CERT_CHAIN_TOO_LONG',
  'INVALID_CA', 'INVALID_PURPOSE', 'HOSTNAME_MISMATCH', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The connection broke after the request may have been sent. */
const CONNECTION_LOST = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function codeOf(error: unknown): string | undefined {
  return (error as { code?: unknown } | null)?.code as string | undefined;
}

/**
 * Node's error classifier: what kind of failure undici's or Node's error was, by its code. A
 * connect timeout is a timeout the next peer may still be tried after, since nothing was sent.
 */
export function classifyUpstreamError(error: unknown, bodySent: boolean): AttemptFailure {
  const code = codeOf(error);
  const kind: FailureKind = code === undefined ? 'failed'
    : code === 'UND_ERR_CONNECT_TIMEOUT' ? 'connect_timeout'
    : CONNECT_FAILURES.has(code) ? 'connect_failed'
    : CERTIFICATE_REJECTED.has(code) ? 'tls_rejected'
    : CONNECTION_LOST.has(code) ? 'connection_lost'
    : TIMEOUTS.has(code) ? 'timeout'
    : 'failed';
  return kind === 'tls_rejected' ? { kind, bodySent, error, code: code! } : { kind, bodySent, error };
}
