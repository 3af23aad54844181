import type { RouteConfig } from '../config.ts';
import type { Pool } from '../peer.ts';
import { parseHostPattern } from './host-pattern.ts';
import { RouteTable, type Route } from './route-table.ts';

/** Without `routes` every request goes to the first pool, under this route name. */
export const DEFAULT_ROUTE = 'default';

/** The smaller of two body limits, where 0 means none. */
function lowerLimit(a: number, b: number): number {
  return a === 0 ? b : b === 0 ? a : Math.min(a, b);
}

/**
 * The route table of a config: its `routes`, or one route that sends everything to the first
 * pool. Each route's body limit is the global `limits.max_body_size`, lowered by its own. A route without a `name` is named by its host and path (`api.example.com/v1`), made
 * unique with its position when two would share a name.
 */
export function buildRoutes(routes: readonly RouteConfig[] | undefined, pools: readonly Pool[], maxBodySize = 0): RouteTable {
  const byName = new Map(pools.map((pool) => [pool.name, pool]));
  if (routes === undefined) {
    return new RouteTable([{
      index: 0, name: DEFAULT_ROUTE, pool: pools[0]!, host: undefined, path: '/', methods: undefined, headers: [], stripPrefix: false, upstreamHost: undefined,
      maxBodySize,
    }]);
  }
  const taken = new Set(routes.flatMap((route) => (route.name === undefined ? [] : [route.name])));
  return new RouteTable(routes.map((config, index): Route => {
    const { match } = config;
    let name = config.name ?? `${match.host ?? ''}${match.path}`;
    if (config.name === undefined && taken.has(name)) name = `${name}#${index}`;
    taken.add(name);
    return {
      index,
      name,
      pool: byName.get(config.pool)!,
      host: match.host === undefined ? undefined : parseHostPattern(match.host),
      path: match.path,
      methods: match.methods === undefined ? undefined : new Set(match.methods),
      headers: Object.entries(match.headers ?? {}),
      stripPrefix: config.strip_prefix,
      upstreamHost: config.host,
      maxBodySize: lowerLimit(maxBodySize, config.max_body_size),
    };
  }));
}
