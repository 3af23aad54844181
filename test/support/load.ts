import { Pool } from 'undici';

export interface LoadResult {
  ok: number;
  failures: string[];
  /** Which upstream answered each successful request, with the time it answered. */
  answers: Array<{ at: number; name: string }>;
}

/**
 * Keeps `concurrency` keep-alive clients busy until `stop` resolves (bounded by `maxMs`).
 * `result` fills as answers come, for a test that watches the load while it runs.
 */
export async function load(
  url: string, concurrency: number, stop: Promise<unknown>, maxMs = 20_000, result: LoadResult = { ok: 0, failures: [], answers: [] },
): Promise<LoadResult> {
  const pool = new Pool(url, { connections: concurrency });
  let running = true;
  void stop.then(() => (running = false));
  const deadline = performance.now() + maxMs;
  const worker = async () => {
    while (running && performance.now() < deadline) {
      try {
        const res = await pool.request({ path: '/', method: 'GET' });
        const body = await res.body.text();
        if (res.statusCode !== 200) result.failures.push(`${res.statusCode} ${body.trim()}`);
        else {
          result.ok++;
          result.answers.push({ at: performance.now(), name: res.headers['x-upstream'] as string });
        }
      } catch (error) {
        result.failures.push(String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await pool.close();
  return result;
}

/** A load running in the background until `stop`, which resolves with its result; `live` fills as answers come. */
export function startLoad(url: string, concurrency: number, maxMs = 20_000): { live: LoadResult; stop(): Promise<LoadResult> } {
  let stop!: () => void;
  const live: LoadResult = { ok: 0, failures: [], answers: [] };
  const running = load(url, concurrency, new Promise<void>((resolve) => (stop = resolve)), maxMs, live);
  return {
    live,
    stop() {
      stop();
      return running;
    },
  };
}
