import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * What one table measures: the request wrk sends and what the upstreams answer. Every system
 * proxies the path unchanged, so the upstream nginx picks the answer by path.
 */
export interface Workload {
  id: string;
  title: string;
  /** Request path; the upstreams serve it (see upstreamsConfig). */
  path: string;
  /** Bytes of the request body wrk sends with POST; none for GET. */
  uploadBytes?: number;
  /** Round length relative to --seconds: the extra tables are shorter so a full run stays short. */
  secondsShare: number;
}

export const RESPONSE_16K_BYTES = 16 * 1024;
export const UPLOAD_BYTES = 1024 * 1024;
/** The upstreams and the nginx proxies accept bodies up to this size. */
export const MAX_BODY = '2m';

export const WORKLOADS: readonly Workload[] = [
  { id: 'ok', title: 'GET, 2-byte response ("ok")', path: '/', secondsShare: 1 },
  { id: 'response-16k', title: 'GET, 16 KiB response', path: '/16k', secondsShare: 0.5 },
  { id: 'upload-1m', title: 'POST of 1 MiB, 2-byte response', path: '/upload', uploadBytes: UPLOAD_BYTES, secondsShare: 0.5 },
];

/** The static files behind `/16k` and `/upload`, written where the upstream nginx serves them from. */
export async function writeUpstreamFiles(staticDir: string): Promise<void> {
  await writeFile(join(staticDir, '16k'), Buffer.alloc(RESPONSE_16K_BYTES, 'x'));
  await writeFile(join(staticDir, 'upload'), '');
}

/** wrk's Lua script for a workload, or undefined when plain GETs do. */
export async function writeWrkScript(dir: string, workload: Workload): Promise<string | undefined> {
  if (workload.uploadBytes === undefined) return undefined;
  const path = join(dir, `${workload.id}.lua`);
  await writeFile(
    path,
    `wrk.method = "POST"
wrk.body = string.rep("x", ${workload.uploadBytes})
wrk.headers["Content-Type"] = "application/octet-stream"
`,
  );
  return path;
}

export function workloadSeconds(workload: Workload, seconds: number): number {
  return Math.max(1, Math.round(seconds * workload.secondsShare));
}
