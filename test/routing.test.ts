import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig, type Config } from '../src/core/config.ts';
import { buildPools } from '../src/core/peer.ts';
import { buildRoutes } from '../src/core/routing/build-routes.ts';
import { hostOf } from '../src/core/routing/host-pattern.ts';
import { upstreamPath, type RoutedRequest } from '../src/core/routing/route-table.ts';
import { shadowedRouteWarnings } from '../src/core/routing/shadowed-routes.ts';

const upstreams = { web: { peers: ['127.0.0.1:1'] }, api: { peers: ['127.0.0.1:2'] }, admin: { peers: ['127.0.0.1:3'] } };

function config(routes: unknown): Config {
  const result = validateConfig({ routes, upstreams });
  if ('problems' in result) throw new Error(result.problems.join('\n'));
  return result.config;
}

function table(routes: unknown) {
  const parsed = config(routes);
  return buildRoutes(parsed.routes, buildPools(parsed.upstreams));
}

function request(authority: string | undefined, path: string, method = 'GET', headers: Record<string, string> = {}): RoutedRequest {
  return { authority, path, method, header: (name) => headers[name], clientAddress: '127.0.0.1' };
}

/** The name of the route that takes the request, or undefined for a 404. */
function routed(routes: ReturnType<typeof table>, ...args: Parameters<typeof request>): string | undefined {
  return routes.match(request(...args))?.name;
}

describe('routing', () => {
  it('without routes sends every request to the first pool', () => {
    const parsed = validateConfig({ upstreams });
    assert.ok('config' in parsed);
    const routes = buildRoutes(parsed.config.routes, buildPools(parsed.config.upstreams));
    const route = routes.match(request('anything.example', '/x?y'));
    assert.equal(route?.pool.name, 'web');
    assert.equal(route?.name, 'default');
    assert.equal(routes.match(request(undefined, '/'))?.pool.name, 'web', 'HTTP/1.0 without Host too');
  });

  it('matches exact hosts without case, port or trailing dot, and wildcards on subdomains only', () => {
    const routes = table([
      { name: 'exact', match: { host: 'API.example.com' }, pool: 'api' },
      { name: 'wild', match: { host: '*.example.com' }, pool: 'web' },
    ]);
    assert.equal(routed(routes, 'api.example.com', '/'), 'exact');
    assert.equal(routed(routes, 'Api.Example.COM:8443', '/'), 'exact');
    assert.equal(routed(routes, 'api.example.com.', '/'), 'exact');
    assert.equal(routed(routes, 'www.example.com', '/'), 'wild');
    assert.equal(routed(routes, 'a.b.example.com', '/'), 'wild');
    assert.equal(routed(routes, 'example.com', '/'), undefined, '*.example.com does not take example.com');
    assert.equal(routed(routes, 'evil-example.com', '/'), undefined);
    assert.equal(routed(routes, undefined, '/'), undefined);
  });

  it('matches path prefixes by whole segments, the longest first', () => {
    const routes = table([
      { name: 'root', match: { path: '/' }, pool: 'web' },
      { name: 'v1', match: { path: '/v1' }, pool: 'api' },
      { name: 'v1-admin', match: { path: '/v1/admin/' }, pool: 'admin' },
    ]);
    assert.equal(routed(routes, 'h', '/v1'), 'v1');
    assert.equal(routed(routes, 'h', '/v1/users'), 'v1');
    assert.equal(routed(routes, 'h', '/v1?page=2'), 'v1');
    assert.equal(routed(routes, 'h', '/v10'), 'root');
    assert.equal(routed(routes, 'h', '/v1/admin/x'), 'v1-admin');
    assert.equal(routed(routes, 'h', '/v1/admin/'), 'v1-admin');
    assert.equal(routed(routes, 'h', '/v1/admin'), 'v1', 'a prefix ending in / takes only what lies under it');
    assert.equal(routed(routes, 'h', '/V1'), 'root', 'paths are case-sensitive');
  });

  it('tries exact hosts, then wildcards (longest first), then any host; then the longest path; then file order', () => {
    const routes = table([
      { name: 'any-long', match: { path: '/very/long/path' }, pool: 'web' },
      { name: 'wild', match: { host: '*.example.com' }, pool: 'web' },
      { name: 'wild-api', match: { host: '*.api.example.com' }, pool: 'api' },
      { name: 'exact-root', match: { host: 'www.example.com' }, pool: 'web' },
      { name: 'first', match: { host: 'shop.example.com', path: '/cart' }, pool: 'web' },
      { name: 'second', match: { host: 'shop.example.com', path: '/cart' }, pool: 'api' },
    ]);
    assert.equal(routed(routes, 'www.example.com', '/very/long/path'), 'exact-root', 'an exact host beats a longer path elsewhere');
    assert.equal(routed(routes, 'v2.api.example.com', '/'), 'wild-api');
    assert.equal(routed(routes, 'v2.example.com', '/very/long/path'), 'wild');
    assert.equal(routed(routes, 'other.test', '/very/long/path/x'), 'any-long');
    assert.equal(routed(routes, 'shop.example.com', '/cart'), 'first');
    assert.equal(routed(routes, 'shop.example.com', '/'), 'wild', 'a host with no matching path falls through to the wildcard');
  });

  it('checks methods and exact header values', () => {
    const routes = table([
      { name: 'canary', match: { path: '/', headers: { 'X-Canary': '1' } }, pool: 'admin' },
      { name: 'writes', match: { path: '/', methods: ['post', 'PUT'] }, pool: 'api' },
      { name: 'rest', match: { path: '/' }, pool: 'web' },
    ]);
    assert.equal(routed(routes, 'h', '/', 'GET', { 'x-canary': '1' }), 'canary');
    assert.equal(routed(routes, 'h', '/', 'GET', { 'x-canary': '2' }), 'rest');
    assert.equal(routed(routes, 'h', '/', 'POST'), 'writes');
    assert.equal(routed(routes, 'h', '/', 'PUT'), 'writes');
    assert.equal(routed(routes, 'h', '/', 'DELETE'), 'rest');
  });

  it('strips the matched prefix when asked', () => {
    const routes = table([
      { name: 'a', match: { path: '/v1' }, pool: 'api', strip_prefix: true },
      { name: 'b', match: { path: '/v2/' }, pool: 'api', strip_prefix: true },
      { name: 'c', match: { path: '/v3' }, pool: 'api' },
    ]);
    const rewrite = (path: string) => upstreamPath(routes.match(request('h', path))!, path);
    assert.equal(rewrite('/v1/users?x=1'), '/users?x=1');
    assert.equal(rewrite('/v1'), '/');
    assert.equal(rewrite('/v1?x=1'), '/?x=1');
    assert.equal(rewrite('/v2/users'), '/users');
    assert.equal(rewrite('/v2/'), '/');
    assert.equal(rewrite('/v3/users'), '/v3/users');
  });

  it('names routes by host and path unless named, and refuses unknown pools and taken names by key', () => {
    const routes = table([{ match: { host: 'a.example', path: '/x' }, pool: 'api' }, { match: { host: 'a.example', path: '/x' }, pool: 'web' }]);
    assert.deepEqual(routes.routes.map((route) => route.name), ['a.example/x', 'a.example/x#1']);
    const result = validateConfig({
      routes: [
        { match: { path: '/' }, pool: 'apii' },
        { name: 'n', pool: 'web', match: { path: 'x' } },
        { name: 'n', pool: 'web', match: { path: '/x?y' } },
        { pool: 'web', match: { host: 'a.example:80' } },
      ],
      upstreams,
    });
    assert.ok('problems' in result);
    assert.deepEqual(result.problems, [
      'routes.1.match.path: must start with "/" and contain no spaces or control characters',
      'routes.2.match.path: is a path prefix: no "?" or "#"',
      'routes.3.match.host: must be a host name, "*." and a host name, or an IP (no port)',
      'routes.0.pool: no pool "apii"',
      'routes.2.name: "n" is already the name of routes.1',
    ]);
    const limited = validateConfig({ routes: [{ pool: 'web', max_body_size: '1m' }, { pool: 'web', match: { path: '/x' } }], upstreams, limits: { max_body_size: '2m' } });
    assert.ok('config' in limited);
    const lowered = buildRoutes(limited.config.routes, buildPools(limited.config.upstreams), limited.config.limits.max_body_size);
    assert.deepEqual(lowered.routes.map((route) => [route.index, route.maxBodySize]), [[1, 2 * 1024 * 1024], [0, 1024 * 1024]],
      'a route lowers the global body limit; without its own it has the global one');
  });

  it('warns of routes that an earlier one always takes', () => {
    const routes = table([
      { match: { host: 'a.example', path: '/x' }, pool: 'api' },
      { match: { host: 'a.example', path: '/x', methods: ['GET'] }, pool: 'web' },
      { match: { host: 'a.example', path: '/x/' }, pool: 'web' },
      { match: { path: '/', headers: { 'x-a': '1' } }, pool: 'web' },
      { match: { path: '/', headers: { 'x-a': '1', 'x-b': '2' } }, pool: 'web' },
      { match: { path: '/', methods: ['GET'] }, pool: 'web' },
    ]);
    assert.deepEqual(shadowedRouteWarnings(routes), [
      'routes.1: never matches: routes.0 (a.example/x) takes every request it would',
      'routes.4: never matches: routes.3 (/) takes every request it would',
    ]);
  });

  it('reads the host of an authority', () => {
    assert.equal(hostOf('Example.COM:8080'), 'example.com');
    assert.equal(hostOf('[::1]:80'), '[::1]');
    assert.equal(hostOf('[::1]'), '[::1]');
    assert.equal(hostOf('example.com.'), 'example.com');
    assert.equal(hostOf(''), undefined);
  });
});
