import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export interface HttpResponse {
  status: number;
  body: string;
}

/**
 * One GET on a fresh connection (agent: false). The rig relies on that: each call
 * costs exactly one accepted connection and one request at the server, so it can
 * subtract its own traffic from nginx's counters.
 */
export function httpGet(url: string, timeoutMs = 2000): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Polls until url answers 200, the deadline passes, or isAlive() turns false. */
export async function waitForOk(url: string, timeoutMs: number, isAlive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`process exited before ${url} answered 200`);
    try {
      const res = await httpGet(url, 1000);
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}
