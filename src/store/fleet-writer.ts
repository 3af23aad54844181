import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { RedisLocation } from '../core/redis-url.ts';
import { decodeEdgeSummary, FLEET_FORGET_AFTER_MS, FLEET_INTERVAL_MS, fleetKey, type EdgeSummary } from '../core/shared-health/fleet.ts';
import { openRedis } from './redis-connection.ts';

/** What the writer asks for at each interval. */
export interface FleetSource {
  requests(): number;
  errors(): number;
  inFlight(): number;
}

/**
 * Writes this edge process's summary to the fleet view every interval, and drops summaries of
 * edges gone for long. A write that fails is simply the next one's job: the view is for people.
 */
export class FleetWriter {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #source: FleetSource;
  readonly #version: string;
  readonly #startedAt = Date.now();
  readonly #host = hostname();
  readonly #id = `${this.#host}-${process.pid}`;
  /** The primary's: the workers of one edge share it. */
  readonly #edge = `${this.#host}-${process.ppid}`;
  #timer: NodeJS.Timeout | undefined;
  #last = { at: performance.now(), requests: 0 };
  #writes = 0;

  constructor(location: RedisLocation, prefix: string, version: string, source: FleetSource) {
    this.#redis = openRedis(location, 'edgelb-fleet');
    this.#key = fleetKey(prefix);
    this.#source = source;
    this.#version = version;
  }

  start(): void {
    this.#redis.on('ready', () => void this.#write());
    this.#redis.connect().catch(() => {});
    this.#timer = setInterval(() => void this.#write(), FLEET_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Takes this process out of the view (a clean stop), and lets go of Redis. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    if (this.#redis.status === 'ready') await this.#redis.hdel(this.#key, this.#id).catch(() => {});
    this.#redis.disconnect();
  }

  async #write(): Promise<void> {
    if (this.#redis.status !== 'ready') return;
    const now = performance.now();
    const requests = this.#source.requests();
    const seconds = (now - this.#last.at) / 1000;
    const summary: EdgeSummary = {
      id: this.#id,
      edge: this.#edge,
      host: this.#host,
      pid: process.pid,
      version: this.#version,
      startedAt: this.#startedAt,
      lastSeen: Date.now(),
      requests,
      errors: this.#source.errors(),
      requestsPerSecond: seconds > 0 ? Math.round(((requests - this.#last.requests) / seconds) * 10) / 10 : 0,
      inFlight: this.#source.inFlight(),
    };
    this.#last = { at: now, requests };
    try {
      await this.#redis.hset(this.#key, this.#id, JSON.stringify(summary));
      // Now and then, not every write: summaries of edges gone for long leave the hash.
      if (this.#writes++ % 30 === 0) await this.#forgetGone();
    } catch {
      // The next interval writes again.
    }
  }

  async #forgetGone(): Promise<void> {
    const now = Date.now();
    for (const [id, text] of Object.entries(await this.#redis.hgetall(this.#key))) {
      const summary = decodeEdgeSummary(text);
      if (summary === undefined || now - summary.lastSeen > FLEET_FORGET_AFTER_MS) await this.#redis.hdel(this.#key, id);
    }
  }
}
