import type { PeerState } from '../health.ts';

/** How the live probers that checked a peer voted. */
export interface Votes {
  readonly up: number;
  readonly down: number;
}

export function countVotes(views: Iterable<PeerState | undefined>): Votes {
  let up = 0;
  let down = 0;
  for (const view of views) {
    if (view === undefined) continue;
    if (view.up) up++;
    else down++;
  }
  return { up, down };
}

/**
 * A peer is up when more than half of the live probers that checked it see it up; a tie is
 * down, so run an odd number of probers when they may disagree. With no vote at all (every
 * prober dead, or none has checked the peer yet) there is no verdict: the caller keeps what it
 * had, which for a peer never checked means up.
 */
export function verdict(votes: Votes): boolean | undefined {
  const voters = votes.up + votes.down;
  if (voters === 0) return undefined;
  return votes.up * 2 > voters;
}

/**
 * One state that stands for the probers' views of a peer under `up`: when the majority for `up`
 * formed (the moment its last needed member flipped), the latest check and its latency, and
 * the newest reason given by a prober that agrees.
 */
export function summarize(views: readonly PeerState[], up: boolean): PeerState | undefined {
  const agreeing = views.filter((view) => view.up === up);
  if (agreeing.length === 0) return undefined;
  const needed = Math.floor(views.length / 2) + 1;
  const sinces = agreeing.map((view) => view.since).sort((a, b) => a - b);
  const since = sinces[Math.min(needed, sinces.length) - 1]!;
  const latest = views.reduce((a, b) => (b.checkedAt > a.checkedAt ? b : a));
  const reasoned = agreeing.filter((view) => view.reason !== undefined).sort((a, b) => b.checkedAt - a.checkedAt)[0];
  return {
    up,
    since,
    checkedAt: latest.checkedAt,
    latencyMs: latest.latencyMs,
    ...(reasoned?.reason !== undefined ? { reason: reasoned.reason } : {}),
  };
}
