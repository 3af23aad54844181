/**
 * Whether a request target (path and query, as sent) falls under a route's path prefix. The
 * prefix matches whole segments: `/v1` takes `/v1`, `/v1/x` and `/v1?q`, not `/v10`; a prefix
 * ending in `/` takes what lies under it. Targets are compared as sent, without decoding, so
 * what routes a request is exactly what reaches the peer.
 */
export function matchesPrefix(target: string, prefix: string): boolean {
  if (!target.startsWith(prefix)) return false;
  if (prefix.charCodeAt(prefix.length - 1) === 47 /* / */ || target.length === prefix.length) return true;
  const next = target.charCodeAt(prefix.length);
  return next === 47 /* / */ || next === 63 /* ? */;
}
