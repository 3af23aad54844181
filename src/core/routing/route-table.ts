import type { Pool } from '../peer.ts';
import { hostOf, hostRank, matchesHost, type HostPattern } from './host-pattern.ts';
import { matchesPrefix } from './path-prefix.ts';

/** What routing reads of a request; each runtime fills it from its own request object. */
export interface RoutedRequest {
  readonly method: string;
  /** Host header, `:authority` or the absolute-form target's authority, as sent (port included). */
  readonly authority: string | undefined;
  /** The request target's path and query, as sent. */
  readonly path: string;
  /** The value of a request header (lower-case name), or undefined. */
  header(name: string): string | undefined;
  /** The address of the client that connected to edgelb (the runtime's connection info). */
  readonly clientAddress: string;
}

/** A route as the request path uses it: where requests it matches go and how they are rewritten. */
export interface Route {
  /** The route's position in the config's `routes`. */
  readonly index: number;
  /** Names the route in logs, metrics and `/status`. */
  readonly name: string;
  readonly pool: Pool;
  readonly host: HostPattern | undefined;
  readonly path: string;
  readonly methods: ReadonlySet<string> | undefined;
  readonly headers: ReadonlyArray<readonly [name: string, value: string]>;
  /** Forward the path without the matched prefix. */
  readonly stripPrefix: boolean;
  /** The Host header sent upstream on this route; overrides the pool's `host`. */
  readonly upstreamHost: string | undefined;
  /** The largest request body this route takes, in bytes; 0: no limit. */
  readonly maxBodySize: number;
}

/**
 * The routes in the order they are tried: exact hosts before wildcards (the longer suffix first)
 * before routes for any host, then the longest path prefix, then the order of the file. The first
 * route whose host, path, methods and headers all match takes the request. Routes are grouped by
 * exact host so that a table of many sites looks at one site's routes and the general ones only.
 */
export class RouteTable {
  readonly routes: readonly Route[];
  readonly #byHost = new Map<string, Route[]>();
  readonly #wildcard: Route[];
  readonly #anyHost: Route[];

  constructor(routes: readonly Route[]) {
    const ordered = routes
      .map((route, index) => ({ route, index }))
      .sort((a, b) => hostRank(a.route.host) - hostRank(b.route.host) || b.route.path.length - a.route.path.length || a.index - b.index)
      .map(({ route }) => route);
    this.routes = ordered;
    for (const route of ordered) {
      if (route.host?.kind !== 'exact') continue;
      const list = this.#byHost.get(route.host.name) ?? [];
      list.push(route);
      this.#byHost.set(route.host.name, list);
    }
    this.#wildcard = ordered.filter((route) => route.host?.kind === 'wildcard');
    this.#anyHost = ordered.filter((route) => route.host === undefined);
  }

  /** The route that takes `request`, or undefined (the client gets a 404). */
  match(request: RoutedRequest): Route | undefined {
    if (this.#byHost.size === 0 && this.#wildcard.length === 0) return firstMatch(this.#anyHost, request);
    const host = hostOf(request.authority);
    const exact = host === undefined ? undefined : this.#byHost.get(host);
    return (exact && firstMatch(exact, request))
      ?? (host === undefined ? undefined : firstMatch(this.#wildcard, request, host))
      ?? firstMatch(this.#anyHost, request);
  }
}

function firstMatch(routes: readonly Route[], request: RoutedRequest, host?: string): Route | undefined {
  for (const route of routes) {
    if (host !== undefined && !matchesHost(route.host!, host)) continue;
    if (!matchesPrefix(request.path, route.path)) continue;
    if (route.methods !== undefined && !route.methods.has(request.method)) continue;
    if (!route.headers.every(([name, value]) => request.header(name) === value)) continue;
    return route;
  }
  return undefined;
}

/** The path sent upstream on `route`: the prefix removed when the route strips it. */
export function upstreamPath(route: Route, path: string): string {
  if (!route.stripPrefix || route.path === '/') return path;
  const rest = path.slice(route.path.endsWith('/') ? route.path.length - 1 : route.path.length);
  return rest.length === 0 || rest.charCodeAt(0) === 63 /* ? */ ? `/${rest}` : rest;
}
