import { request } from 'node:http';

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One request to `url`, on a connection of its own, with exactly the given headers, `host`
 * included: what a browser sends on a page's behalf (fetch would not let a test set Host, Origin
 * or Sec-Fetch-Site). `target` replaces the request target as written (e.g. an absolute form).
 */
export function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string; target?: string } = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const settings = { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false, ...(options.target === undefined ? {} : { path: options.target }) };
    const req = request(url, settings, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.once('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end(options.body);
  });
}
