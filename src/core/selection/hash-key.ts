import type { RoutedRequest } from '../routing/route-table.ts';

/** What `consistent_hash` hashes, from the pool's `hash_key`. */
export type HashKey =
  | { readonly from: 'client_ip' }
  | { readonly from: 'path' }
  | { readonly from: 'header'; readonly name: string }
  | { readonly from: 'cookie'; readonly name: string };

/** Reads `client_ip`, `path`, `header:NAME` or `cookie:NAME`; undefined for anything else. */
export function parseHashKey(text: string): HashKey | undefined {
  if (text === 'client_ip' || text === 'path') return { from: text };
  const match = /^(header|cookie):([!#$%&'*+.^_`|~0-9A-Za-z-]+)$/.exec(text);
  if (match === null) return undefined;
  return match[1] === 'header' ? { from: 'header', name: match[2]!.toLowerCase() } : { from: 'cookie', name: match[2]! };
}

/**
 * The request's hash key. A request without the header or cookie named hashes by its client
 * address instead, so it still lands on one peer rather than on a different one each time. The
 * path is the target's path without its query.
 */
export function hashKeyOf(request: RoutedRequest, key: HashKey): string {
  switch (key.from) {
    case 'client_ip':
      return request.clientAddress;
    case 'path': {
      const query = request.path.indexOf('?');
      return query < 0 ? request.path : request.path.slice(0, query);
    }
    case 'header':
      return request.header(key.name) ?? request.clientAddress;
    case 'cookie':
      return cookieValue(request.header('cookie'), key.name) ?? request.clientAddress;
  }
}

/** The value of cookie `name` in a `Cookie` header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return undefined;
}
