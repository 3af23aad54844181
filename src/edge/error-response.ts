import type { ProxyError } from '../core/errors.ts';

const REASON: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** An error answer as plain data, for runtimes to send in their own form. */
export interface ErrorReply {
  readonly status: number;
  readonly reason: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * The client's view of a proxy error: the status, a short plain-text reason and the request id
 * that the matching log line carries. Peer addresses stay in the log, not in the response.
 */
export function errorReply(error: ProxyError, requestId: string, retryAfterSeconds: number): ErrorReply {
  const reason = REASON[error.status] ?? 'Error';
  const headers: Record<string, string> = {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'x-request-id': requestId,
  };
  if (error.kind === 'no_healthy_peer') headers['retry-after'] = String(retryAfterSeconds);
  else if (error.kind === 'upstream_busy') headers['retry-after'] = '1';
  return { status: error.status, reason, headers, body: `${error.status} ${reason}: ${error.message}\nrequest id: ${requestId}\n` };
}

export function errorResponse(error: ProxyError, requestId: string, retryAfterSeconds: number): Response {
  return replyResponse(errorReply(error, requestId, retryAfterSeconds));
}

/** An error answer as a Web Response. */
export function replyResponse(reply: ErrorReply): Response {
  return new Response(reply.body, { status: reply.status, headers: reply.headers });
}
