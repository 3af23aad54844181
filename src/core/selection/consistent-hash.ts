import type { Peer } from '../peer.ts';
import type { Accept, Selection } from './selection.ts';

/** Points on the ring per unit of weight (as nginx's ketama-style `hash ... consistent`). */
const POINTS_PER_WEIGHT = 160;

/**
 * Consistent hashing on a ring: each peer owns `POINTS_PER_WEIGHT × weight` points, a key goes
 * to the owner of the first point at or after its hash, and the fallback candidates are the next
 * distinct owners around the ring. A peer that leaves (down, drained, ejected) only gives up its
 * own keys, each to the next owner on the ring, so about 1/N of the keys move; the ring is
 * built once, and health only filters the walk.
 */
export class ConsistentHash implements Selection {
  readonly needsKey = true;
  readonly #peers: readonly Peer[];
  readonly #points: Uint32Array;
  readonly #owners: Uint16Array;

  constructor(peers: readonly Peer[]) {
    this.#peers = peers;
    const ring: [number, number][] = [];
    for (const [index, peer] of peers.entries()) {
      for (let i = 0; i < POINTS_PER_WEIGHT * peer.weight; i++) ring.push([hash32(`${peer.id}#${i}`), index]);
    }
    ring.sort((a, b) => a[0] - b[0]);
    this.#points = Uint32Array.from(ring, ([point]) => point);
    this.#owners = Uint16Array.from(ring, ([, owner]) => owner);
  }

  *candidates(key: string | undefined, accept: Accept): Iterable<Peer> {
    const points = this.#points;
    const owners = this.#owners;
    const peers = this.#peers;
    const start = firstAtOrAfter(points, hash32(key ?? ''));
    const seen = new Set<number>();
    for (let i = 0; i < points.length && seen.size < peers.length; i++) {
      const owner = owners[(start + i) % points.length]!;
      if (seen.has(owner)) continue;
      seen.add(owner);
      if (accept(peers[owner]!)) yield peers[owner]!;
    }
  }
}

function firstAtOrAfter(points: Uint32Array, value: number): number {
  let low = 0;
  let high = points.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (points[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low === points.length ? 0 : low;
}

/** FNV-1a over the UTF-16 code units, then mixed (murmur3's finaliser) so near keys spread. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
