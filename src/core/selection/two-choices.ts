import type { Peer } from '../peer.ts';
import type { Accept } from './selection.ts';

/**
 * The power of two choices: two distinct accepted peers drawn at random, and the index (in
 * `peers`) of the one `better` prefers; undefined when none is accepted. Comparing two instead
 * of all keeps every edge from piling onto the same best-looking peer at once.
 */
export function twoChoices(peers: readonly Peer[], accept: Accept, random: () => number, better: (a: Peer, b: Peer) => boolean): number | undefined {
  let accepted = 0;
  for (const peer of peers) if (accept(peer)) accepted++;
  if (accepted === 0) return undefined;
  const a = Math.floor(random() * accepted);
  // The second draw skips the first, so the two are distinct whenever two peers are accepted.
  const b = accepted === 1 ? a : (a + 1 + Math.floor(random() * (accepted - 1))) % accepted;
  const first = indexOfAccepted(peers, accept, a);
  const second = indexOfAccepted(peers, accept, b);
  return better(peers[first]!, peers[second]!) ? first : second;
}

/** The index in `peers` of the `n`th accepted peer. */
function indexOfAccepted(peers: readonly Peer[], accept: Accept, n: number): number {
  for (let i = 0, seen = 0; i < peers.length; i++) if (accept(peers[i]!) && seen++ === n) return i;
  throw new Error('selection: fewer accepted peers than counted');
}
