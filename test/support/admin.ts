import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { Edgelb } from './processes.ts';

/** The admin listener's base URL, from edgelb's "edgelb is serving" line. */
export function adminUrl(edgelb: Edgelb): string {
  const serving = edgelb.logs.find((line) => line.msg === 'edgelb is serving');
  const admin = serving?.admin;
  if (typeof admin !== 'string') throw new Error('edgelb runs no admin listener');
  return `http://${admin}`;
}

export async function adminGet(url: string, token?: string): Promise<Response> {
  return fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
}

/** Runs Prometheus's own `promtool check metrics` on an exposition: its complaints, or [] when clean. */
export function promtoolProblems(exposition: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve(code === 0 ? [] : output.trim().split('\n')));
    child.stdin.end(exposition);
  });
}

/** The value of one sample, found by metric name and exact label set; undefined when absent. */
export function sample(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`).sort().join(',');
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found = (match[2] ?? '').split(',').filter(Boolean).sort().join(',');
    if (found === wanted) return Number(match[3]);
  }
  return undefined;
}

export interface AccessLine {
  time: number | string;
  protocol?: string;
  host?: string;
  tls?: { version: string; sni?: string };
  userAgent?: string;
  referer?: string;
  upstreamStatus?: number;
  requestId: string;
  client: string;
  method: string;
  path: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  pool: string;
  peer?: string;
  upstreamConnectMs?: number;
  upstreamHeaderMs?: number;
  upstreamTotalMs?: number;
  durationMs: number;
  retries: number;
  failedPeers?: string[];
  error?: string;
}

/** Every complete line of an access log file so far. */
export function accessLines(file: string): AccessLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((line) => line.endsWith('}')).map((line) => JSON.parse(line) as AccessLine);
}
