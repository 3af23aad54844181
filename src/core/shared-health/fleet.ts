import { parseRecord } from './json-record.ts';

/**
 * The fleet view: every edge process (a worker) writes a small summary of itself to Redis every
 * few seconds, under `{prefix}edges` (hash: id → `EdgeSummary` as JSON), and `edgelb status`
 * lists them. Runtime-neutral: the Node writer and any reader share it.
 */
export interface EdgeSummary {
  /** `host-pid` of the worker that writes it. */
  readonly id: string;
  /** `host-pid` of its primary: the workers of one edge share it. */
  readonly edge: string;
  readonly host: string;
  readonly pid: number;
  readonly version: string;
  readonly startedAt: number;
  /** When it was written (the writer's clock, ms since the epoch). */
  readonly lastSeen: number;
  /** Requests answered since start, and how many of them with a 5xx. */
  readonly requests: number;
  readonly errors: number;
  /** Over the last interval. */
  readonly requestsPerSecond: number;
  readonly inFlight: number;
}

/** Every edge writes this often... */
export const FLEET_INTERVAL_MS = 2_000;
/** ...and counts as gone once its summary is this old. */
export const FLEET_GONE_AFTER_MS = 3 * FLEET_INTERVAL_MS;
/** A summary this old is dropped by the next edge to write. */
export const FLEET_FORGET_AFTER_MS = 10 * 60_000;

export function fleetKey(prefix: string): string {
  return `${prefix}edges`;
}

export function decodeEdgeSummary(text: string): EdgeSummary | undefined {
  const v = parseRecord(text);
  if (v === undefined) return undefined;
  const strings = ['id', 'edge', 'host', 'version'] as const;
  const numbers = ['pid', 'startedAt', 'lastSeen', 'requests', 'errors', 'requestsPerSecond', 'inFlight'] as const;
  if (!strings.every((key) => typeof v[key] === 'string') || !numbers.every((key) => typeof v[key] === 'number')) return undefined;
  return v as unknown as EdgeSummary;
}
