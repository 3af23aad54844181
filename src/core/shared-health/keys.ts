import type { PeerState } from '../health.ts';
import { isRecord, parseJson } from './json-record.ts';

/**
 * Where shared health lives in Redis. Every name starts with the configured prefix, so several
 * fleets can share one Redis:
 *
 * - `{prefix}probers`            hash: prober id → `ProberInfo` (JSON), kept after a prober dies
 * - `{prefix}heartbeat:{id}`     string with a TTL: present while that prober is alive
 * - `{prefix}view:{id}`          hash: peer key → `PeerState` (JSON), that prober's view
 * - `{prefix}drained`            set of peer keys an operator took out of rotation
 * - `{prefix}registered`         set of the peer keys registered by `edgelb register`
 * - `{prefix}registration:{key}` string with a TTL: `Registration` (JSON), renewed while it lives
 * - `{prefix}changes`            pub/sub channel of `SharedHealthMessage` (JSON)
 *
 * A peer key is `pool/host:port`: pool names cannot contain "/", so it is unambiguous.
 * This file is runtime-neutral: the Node store (ioredis) and an edge-runtime reader share it.
 */
export interface SharedHealthKeys {
  readonly probers: string;
  readonly drained: string;
  readonly registered: string;
  readonly channel: string;
  registration(peerKey: string): string;
  heartbeat(proberId: string): string;
  view(proberId: string): string;
}

export function sharedHealthKeys(prefix: string): SharedHealthKeys {
  return {
    probers: `${prefix}probers`,
    drained: `${prefix}drained`,
    registered: `${prefix}registered`,
    channel: `${prefix}changes`,
    registration: (key) => `${prefix}registration:${key}`,
    heartbeat: (id) => `${prefix}heartbeat:${id}`,
    view: (id) => `${prefix}view:${id}`,
  };
}

export function peerKey(peer: { readonly pool: string; readonly id: string }): string {
  return `${peer.pool}/${peer.id}`;
}

/** The pool and the peer (`host:port`) a peer key names, or undefined when it names none. */
export function splitPeerKey(key: string): { readonly pool: string; readonly id: string } | undefined {
  const slash = key.indexOf('/');
  return slash <= 0 ? undefined : { pool: key.slice(0, slash), id: key.slice(slash + 1) };
}

/** A prober beats this often... */
export const HEARTBEAT_INTERVAL_MS = 1_000;
/** ...and counts as dead once a beat is this late: a few missed beats, not one slow event loop. */
export const HEARTBEAT_TTL_MS = 5_000;
/** A prober gone this long is dropped from `probers` (with its view) by the next prober to start. */
export const FORGET_PROBER_AFTER_MS = 10 * 60_000;
/** Edges re-read the whole shared state this often, in case a pushed change was lost. */
export const RESYNC_INTERVAL_MS = 5_000;

/** What a prober says about itself in `probers`. */
export interface ProberInfo {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  /** The last heartbeat written (prober's clock, ms since the epoch). */
  readonly lastSeen: number;
}

/** Pushed on the channel; edges apply them to their local copy. */
export type SharedHealthMessage =
  /** A prober's verdict on a peer flipped. `writtenAt` is when it was written (prober's clock). */
  | { readonly type: 'state'; readonly prober: string; readonly peer: string; readonly state: PeerState; readonly writtenAt: number }
  /** A prober rewrote its whole view (start, or Redis came back): read it again. */
  | { readonly type: 'snapshot'; readonly prober: string; readonly writtenAt: number }
  /** A prober stopped cleanly: its view no longer counts. */
  | { readonly type: 'left'; readonly prober: string }
  | { readonly type: 'drain'; readonly peer: string; readonly drained: boolean; readonly writtenAt: number }
  /** A peer registered, or its registration changed (`registration` is its JSON, as stored). */
  | { readonly type: 'registered'; readonly peer: string; readonly registration: string }
  | { readonly type: 'deregistered'; readonly peer: string };

export function encodeMessage(message: SharedHealthMessage): string {
  return JSON.stringify(message);
}

/** The message, or undefined for anything malformed (a foreign publisher must not break edges). */
export function decodeMessage(text: string): SharedHealthMessage | undefined {
  const value = parseJson(text);
  if (!isRecord(value)) return undefined;
  switch (value.type) {
    case 'state': {
      const state = toPeerState(value.state);
      return typeof value.prober === 'string' && typeof value.peer === 'string' && state && typeof value.writtenAt === 'number'
        ? { type: 'state', prober: value.prober, peer: value.peer, state, writtenAt: value.writtenAt }
        : undefined;
    }
    case 'snapshot':
      return typeof value.prober === 'string' && typeof value.writtenAt === 'number'
        ? { type: 'snapshot', prober: value.prober, writtenAt: value.writtenAt }
        : undefined;
    case 'left':
      return typeof value.prober === 'string' ? { type: 'left', prober: value.prober } : undefined;
    case 'drain':
      return typeof value.peer === 'string' && typeof value.drained === 'boolean' && typeof value.writtenAt === 'number'
        ? { type: 'drain', peer: value.peer, drained: value.drained, writtenAt: value.writtenAt }
        : undefined;
    case 'registered':
      return typeof value.peer === 'string' && typeof value.registration === 'string'
        ? { type: 'registered', peer: value.peer, registration: value.registration }
        : undefined;
    case 'deregistered':
      return typeof value.peer === 'string' ? { type: 'deregistered', peer: value.peer } : undefined;
    default:
      return undefined;
  }
}

export function encodePeerState(state: PeerState): string {
  return JSON.stringify(state);
}

export function decodePeerState(text: string): PeerState | undefined {
  return toPeerState(parseJson(text));
}

export function encodeProberInfo(info: ProberInfo): string {
  return JSON.stringify(info);
}

export function decodeProberInfo(text: string): ProberInfo | undefined {
  const value = parseJson(text);
  if (!isRecord(value)) return undefined;
  const { id, host, pid, startedAt, lastSeen } = value;
  return typeof id === 'string' && typeof host === 'string' && typeof pid === 'number' && typeof startedAt === 'number' && typeof lastSeen === 'number'
    ? { id, host, pid, startedAt, lastSeen }
    : undefined;
}

function toPeerState(value: unknown): PeerState | undefined {
  if (!isRecord(value)) return undefined;
  const { up, since, checkedAt, latencyMs, reason } = value;
  if (typeof up !== 'boolean' || typeof since !== 'number' || typeof checkedAt !== 'number' || typeof latencyMs !== 'number') return undefined;
  return typeof reason === 'string' ? { up, since, checkedAt, latencyMs, reason } : { up, since, checkedAt, latencyMs };
}
