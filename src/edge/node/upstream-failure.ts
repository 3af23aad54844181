import { ProxyError } from '../../core/errors.ts';
import { isIdempotent } from '../idempotent.ts';

/** Failures before the connection existed: nothing reached the peer. */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT', 'EADDRNOTAVAIL',
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

const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function codeOf(error: unknown): string | undefined {
  return (error as { code?: unknown } | null)?.code as string | undefined;
}

/**
 * Whether a failed attempt may go to the next peer without risking a request being done twice:
 * the connection failed before anything was sent, or an idempotent request lost its connection;
 * in both cases only while none of the client's body has been consumed.
 */
export function mayRetry(error: unknown, method: string, bodyStarted: boolean): boolean {
  if (bodyStarted) return false;
  const code = codeOf(error);
  if (code === undefined) return false;
  return CONNECT_FAILURES.has(code) || CERTIFICATE_REJECTED.has(code) || (CONNECTION_LOST.has(code) && isIdempotent(method));
}

/** The error the client is told about once no (further) peer can be tried. */
export function upstreamProxyError(error: unknown): ProxyError {
  const code = codeOf(error);
  if (code !== undefined && TIMEOUTS.has(code)) {
    return new ProxyError('upstream_timeout', 'the upstream server did not answer in time', { cause: error });
  }
  if (code !== undefined && CERTIFICATE_REJECTED.has(code)) {
    return new ProxyError('bad_gateway', `the upstream server's TLS certificate failed verification (${code})`, { cause: error });
  }
  return new ProxyError('bad_gateway', 'the upstream server could not be reached or failed', { cause: error });
}
