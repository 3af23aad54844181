/**
 * The `host` a route matches: an exact name, or `*.example.com`, which matches every name that
 * ends in `.example.com` (`www.example.com`, `a.b.example.com`) but not `example.com` itself, as
 * nginx's `server_name` does. Names compare without case, without the port and without a
 * trailing dot.
 */
export type HostPattern =
  | { readonly kind: 'exact'; readonly name: string }
  | { readonly kind: 'wildcard'; readonly suffix: string };

export function parseHostPattern(text: string): HostPattern {
  const name = text.toLowerCase();
  return name.startsWith('*.') ? { kind: 'wildcard', suffix: name.slice(1) } : { kind: 'exact', name };
}

export function matchesHost(pattern: HostPattern, host: string): boolean {
  return pattern.kind === 'exact' ? pattern.name === host : host.length > pattern.suffix.length && host.endsWith(pattern.suffix);
}

/** Where a route's host puts it in the order routes are tried: exact, then wildcards by length, then any host. */
export function hostRank(pattern: HostPattern | undefined): number {
  if (pattern === undefined) return 2_000;
  return pattern.kind === 'exact' ? 0 : 1_000 - pattern.suffix.length;
}

/** The host name of an authority (`Example.COM:8080` → `example.com`, `[::1]:80` → `[::1]`). */
export function hostOf(authority: string | undefined): string | undefined {
  if (authority === undefined || authority.length === 0) return undefined;
  let end = authority.length;
  const colon = authority.lastIndexOf(':');
  if (colon > authority.lastIndexOf(']')) end = colon;
  if (authority.charCodeAt(end - 1) === 46 /* . */) end--;
  return authority.slice(0, end).toLowerCase();
}
