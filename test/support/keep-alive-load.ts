import { Agent, request } from 'undici';

export interface LoadResult {
  readonly ok: number;
  /** Requests that failed, by error code or status. */
  readonly failures: Record<string, number>;
  /** Which upstream (`x-upstream`) answered how often. */
  readonly upstreams: Record<string, number>;
}

/**
 * `clients` keep-alive clients, each sending one request after the other to `url` until
 * `durationMs` is over (or `stop` is called): a bounded load that ends by itself.
 */
export function runLoad(url: string, { clients = 16, durationMs = 3000 } = {}): { done: Promise<LoadResult>; completed(): number; stop(): void } {
  const agent = new Agent({ connections: clients, keepAliveTimeout: 10_000, pipelining: 1 });
  const deadline = performance.now() + durationMs;
  let stopped = false;
  let ok = 0;
  const failures: Record<string, number> = {};
  const upstreams: Record<string, number> = {};
  const count = (table: Record<string, number>, key: string) => (table[key] = (table[key] ?? 0) + 1);
  const client = async () => {
    while (!stopped && performance.now() < deadline) {
      try {
        const res = await request(url, { dispatcher: agent });
        await res.body.text();
        if (res.statusCode === 200) {
          ok++;
          count(upstreams, String(res.headers['x-upstream']));
        } else {
          count(failures, `status ${res.statusCode}`);
        }
      } catch (error) {
        count(failures, (error as { code?: string }).code ?? String(error));
      }
    }
  };
  const done = Promise.all(Array.from({ length: clients }, client)).then(async () => {
    await agent.close();
    return { ok, failures, upstreams };
  });
  return { done, completed: () => ok, stop: () => (stopped = true) };
}
