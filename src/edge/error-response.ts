import type { ProxyError } from '../core/errors.ts';

const REASON: Record<number, string> = {
  400: 'Bad Request',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * The client's view of a proxy error: the status, a short plain-text reason and the request id
 * that the matching log line carries. Peer addresses stay in the log, not in the response.
 */
export function errorResponse(error: ProxyError, requestId: string, retryAfterSeconds: number): Response {
  const headers: Record<string, string> = {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'x-request-id': requestId,
  };
  if (error.kind === 'no_healthy_peer') headers['retry-after'] = String(retryAfterSeconds);
  const body = `${error.status} ${REASON[error.status] ?? ''}: ${error.message}\nrequest id: ${requestId}\n`;
  return new Response(body, { status: error.status, headers });
}
