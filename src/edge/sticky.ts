import type { Peer, Pool } from '../core/peer.ts';
import { hash32 } from '../core/selection/consistent-hash.ts';
import type { Accept } from '../core/selection/index.ts';
import { cookieValue } from '../core/selection/hash-key.ts';
import type { RoutedRequest } from '../core/routing/route-table.ts';

/**
 * Session affinity (a pool's `sticky`): edgelb's cookie names the peer a client was sent to, by
 * an opaque token (not its address), and the client's next requests go to that peer while it
 * is accepted (up, not drained, not ejected). A token is the same on every edge and across
 * restarts, since it is derived from the pool and the peer.
 */
export function stickyToken(peer: Peer): string {
  let token = tokens.get(peer);
  if (token === undefined) tokens.set(peer, (token = hash32(`${peer.pool}/${peer.id}`).toString(36)));
  return token;
}

/** Made once per peer and pool, not hashed again on every request that carries the cookie. */
const tokens = new WeakMap<Peer, string>();
/** By the pool's peers array: a pool whose peers changed has a new one. */
const peersByToken = new WeakMap<readonly Peer[], ReadonlyMap<string, Peer>>();

function peerWithToken(pool: Pool, token: string): Peer | undefined {
  let byToken = peersByToken.get(pool.peers);
  if (byToken === undefined) peersByToken.set(pool.peers, (byToken = new Map(pool.peers.map((peer) => [stickyToken(peer), peer]))));
  return byToken.get(token);
}

/** The peer the request's sticky cookie names, when it is one of the pool's and `accept` takes it. */
export function stickyPeer(pool: Pool, request: RoutedRequest, accept: Accept): Peer | undefined {
  const sticky = pool.config.sticky;
  if (sticky === undefined) return undefined;
  const token = cookieValue(request.header('cookie'), sticky.cookie);
  if (token === undefined) return undefined;
  const peer = peerWithToken(pool, token);
  return peer !== undefined && accept(peer) ? peer : undefined;
}

/** The sticky peer first, then the selection's candidates without it. */
export function* stickyFirst(peer: Peer, rest: Iterable<Peer>): Iterable<Peer> {
  yield peer;
  for (const candidate of rest) if (candidate !== peer) yield candidate;
}

/**
 * The `Set-Cookie` for a response from `peer`, unless the request already carried its token
 * (then nothing is sent, and the cookie's age runs from when it was set).
 */
export function stickyCookie(pool: Pool, request: RoutedRequest, peer: Peer): string | undefined {
  const sticky = pool.config.sticky;
  if (sticky === undefined) return undefined;
  const token = stickyToken(peer);
  if (cookieValue(request.header('cookie'), sticky.cookie) === token) return undefined;
  return `${sticky.cookie}=${token}; Max-Age=${Math.floor(sticky.ttl / 1000)}; Path=/; HttpOnly; SameSite=Lax`;
}
