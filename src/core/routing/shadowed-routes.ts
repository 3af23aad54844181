import type { Config } from '../config.ts';
import { buildPools } from '../peer.ts';
import { buildRoutes } from './build-routes.ts';
import type { Route, RouteTable } from './route-table.ts';

/** The warnings of a valid config that a user should still hear of: routes that never match. */
export function configWarnings(config: Config): string[] {
  return config.routes === undefined ? [] : shadowedRouteWarnings(buildRoutes(config.routes, buildPools(config.upstreams)));
}

/**
 * Routes that can never match: an earlier route in the order they are tried has the same host
 * and path and asks no more of a request (no methods, or all of this one's; a subset of its
 * headers), so it takes every request this one would. One line per such route, for `-t` and
 * the start-up log.
 */
export function shadowedRouteWarnings(table: RouteTable): string[] {
  const warnings: string[] = [];
  table.routes.forEach((route, position) => {
    const shadow = table.routes.slice(0, position).find((earlier) => covers(earlier, route));
    if (shadow !== undefined) {
      warnings.push(`routes.${route.index}: never matches: routes.${shadow.index} (${shadow.name}) takes every request it would`);
    }
  });
  return warnings;
}

function covers(earlier: Route, later: Route): boolean {
  if (hostKey(earlier) !== hostKey(later) || earlier.path !== later.path) return false;
  if (earlier.methods !== undefined && (later.methods === undefined || [...later.methods].some((m) => !earlier.methods!.has(m)))) return false;
  return earlier.headers.every(([name, value]) => later.headers.some(([n, v]) => n === name && v === value));
}

function hostKey(route: Route): string {
  const host = route.host;
  return host === undefined ? '' : host.kind === 'exact' ? host.name : `*${host.suffix}`;
}
