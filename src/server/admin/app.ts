import { Hono, type MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { formatAddress } from '../../core/address.ts';
import { parsePeerSpec } from '../../core/config.ts';
import { findPeer, type Peer, type PeerSource, type PeerSpec, type Pool } from '../../core/peer.ts';
import { DASHBOARD_PAGE } from './dashboard-page.ts';
import { ownHostOnly, type AdminEnv } from './own-host.ts';
import { sameOriginWrites } from './same-origin.ts';
import type { PeerStatus, StatusReport } from './status.ts';

export interface AdminOptions {
  readonly pools: readonly Pool[];
  /**
   * When set, every endpoint but the (data-free) dashboard page needs `Authorization: Bearer TOKEN`.
   * Without one (a loopback listener) the Host must name the listener and writes must be same-origin.
   */
  readonly token: string | undefined;
  /** The Prometheus exposition: of every worker, merged. */
  metrics(): Promise<{ readonly body: string; readonly contentType: string }>;
  status(): Promise<StatusReport>;
  peerStatus(peer: Peer): PeerStatus;
  setDrained(peer: Peer, drained: boolean): void;
  /**
   * Embedded mode: adds a peer (undefined: it is there already), or removes one the API added
   * (resolving with its requests in flight, which finish). Absent with `redis`.
   */
  readonly peers: {
    add(pool: string, spec: PeerSpec): Peer | undefined;
    remove(peer: Peer): number | undefined;
  } | undefined;
}

const SOURCE_NAMES: Record<PeerSource, string> = {
  config: 'the config file',
  redis: 'a registration in redis',
  dns: 'DNS discovery',
  admin: 'the admin API',
};

const REGISTER_INSTEAD = 'with redis, peers join by registering (edgelb register); the admin API adds peers in embedded mode';

/**
 * The admin API, on its own listener: Prometheus metrics, the status JSON, the dashboard page,
 * and draining. The page itself carries no data, so a browser can load it without the token and
 * then send the token (from the URL fragment, which never leaves the browser) with its requests.
 * Without a token, nothing but loopback can reach the listener, yet every web page the operator
 * opens can make the browser send it requests: see own-host.ts and same-origin.ts.
 */
export function createAdminApp(options: AdminOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  if (options.token === undefined) {
    app.use('*', ownHostOnly());
    app.use('*', sameOriginWrites());
  } else {
    const authorized: MiddlewareHandler = bearerAuth({ token: options.token });
    app.use('*', async (c, next) => (c.req.path === '/' ? next() : authorized(c, next)));
  }

  app.get('/', (c) => {
    c.header('cache-control', 'no-store');
    // Not framed by any page: a frame could be overlaid to trick a click on a drain button.
    c.header('content-security-policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    c.header('x-frame-options', 'DENY');
    return c.html(DASHBOARD_PAGE);
  });
  app.get('/metrics', async (c) => {
    const { body, contentType } = await options.metrics();
    return c.body(body, 200, { 'content-type': contentType });
  });
  app.get('/status', async (c) => c.json(await options.status()));

  for (const [action, drained] of [['drain', true], ['undrain', false]] as const) {
    app.post(`/pools/:pool/peers/:peer/${action}`, (c) => {
      const peer = findPeer(options.pools, c.req.param('pool'), c.req.param('peer'));
      if (peer === undefined) return c.json({ error: `no peer "${c.req.param('peer')}" in pool "${c.req.param('pool')}"` }, 404);
      options.setDrained(peer, drained);
      return c.json({ pool: peer.pool, ...options.peerStatus(peer) });
    });
  }
  app.post('/pools/:pool/peers', async (c) => {
    if (options.peers === undefined) return c.json({ error: REGISTER_INSTEAD }, 409);
    const pool = options.pools.find((candidate) => candidate.name === c.req.param('pool'));
    if (pool === undefined) return c.json({ error: `no pool "${c.req.param('pool')}"` }, 404);
    const body: unknown = await c.req.json().catch(() => undefined);
    if (body === undefined) return c.json({ error: 'the body must be JSON: { "addr": "host:port", "weight": 1, "backup": false }' }, 400);
    const spec = parsePeerSpec(body);
    if ('error' in spec) return c.json({ error: spec.error }, 400);
    const id = formatAddress(spec);
    const existing = pool.peers.find((candidate) => candidate.id === id);
    if (existing !== undefined) return c.json({ error: `pool "${pool.name}" has ${id} already (from ${SOURCE_NAMES[existing.source]})` }, 409);
    const peer = options.peers.add(pool.name, spec);
    if (peer === undefined) return c.json({ error: `pool "${pool.name}" has ${id} already` }, 409);
    return c.json({ pool: peer.pool, ...options.peerStatus(peer) }, 201);
  });
  app.delete('/pools/:pool/peers/:peer', (c) => {
    if (options.peers === undefined) return c.json({ error: REGISTER_INSTEAD }, 409);
    const peer = findPeer(options.pools, c.req.param('pool'), c.req.param('peer'));
    if (peer === undefined) return c.json({ error: `no peer "${c.req.param('peer')}" in pool "${c.req.param('pool')}"` }, 404);
    if (peer.source !== 'admin') return c.json({ error: `${peer.id} comes from ${SOURCE_NAMES[peer.source]}; only peers added here are removed here (drain it instead)` }, 409);
    const inFlight = options.peers.remove(peer) ?? 0;
    return c.json({ pool: peer.pool, id: peer.id, removed: true, inFlight });
  });
  app.notFound((c) => c.json({ error: 'not found' }, 404));
  return app;
}
