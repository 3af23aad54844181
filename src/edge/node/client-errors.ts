import type { Duplex } from 'node:stream';
import { ProxyError } from '../../core/errors.ts';
import type { Log } from '../../core/log.ts';
import { errorReply, errorResponse } from '../error-response.ts';
import { requestId } from '../request-id.ts';

/**
 * Requests that never reach the balancer still get an answer with a request id and a log line,
 * like every other error: ones Node's parser rejects (`clientError`) and ones the Hono adapter
 * cannot turn into a request (an unusable URL or Host).
 */
export function clientErrorHandler(log: Log): (error: NodeJS.ErrnoException, socket: Duplex) => void {
  return (error, socket) => {
    // A client that reset or vanished has nobody left to answer.
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const proxyError = clientProxyError(error.code);
    const id = requestId(undefined);
    log.info({ requestId: id, status: proxyError.status, reason: error.code ?? error.message }, 'request rejected');
    const reply = errorReply(proxyError, id, 0);
    const head = Object.entries(reply.headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
    socket.end(
      `HTTP/1.1 ${reply.status} ${reply.reason}\r\n${head}content-length: ${Buffer.byteLength(reply.body)}\r\nconnection: close\r\n\r\n${reply.body}`,
    );
  };
}

function clientProxyError(code: string | undefined): ProxyError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW': return new ProxyError('headers_too_large', 'the request headers are too large');
    // Node's header timeout (`limits.client_header_timeout`) fires with this code.
    case 'ERR_HTTP_REQUEST_TIMEOUT': return new ProxyError('request_timeout', 'the request head did not arrive in time');
    default: return new ProxyError('bad_request', 'the request is not valid HTTP');
  }
}

export function malformedRequestHandler(log: Log): (error: unknown) => Response {
  return (error) => {
    const id = requestId(undefined);
    const proxyError = new ProxyError('bad_request', 'the request target or Host is not usable', { cause: error });
    log.info({ requestId: id, status: proxyError.status, reason: error instanceof Error ? error.message : String(error) }, 'request rejected');
    return errorResponse(proxyError, id, 0);
  };
}
