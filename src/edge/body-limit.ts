import { ProxyError } from '../core/errors.ts';
import type { Route, RoutedRequest } from '../core/routing/route-table.ts';

export function bodyTooLarge(limit: number): ProxyError {
  return new ProxyError('body_too_large', `the request body is larger than ${limit} bytes`);
}

/**
 * The 413 for a request whose declared length is over its route's limit, known before anything
 * goes upstream; undefined when it may go. A body without a length is counted as it streams.
 */
export function declaredBodyTooLarge(route: Route, request: RoutedRequest): ProxyError | undefined {
  const limit = route.maxBodySize;
  if (limit === 0) return undefined;
  const length = request.header('content-length');
  return length !== undefined && Number(length) > limit ? bodyTooLarge(limit) : undefined;
}
