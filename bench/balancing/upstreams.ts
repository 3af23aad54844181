/**
 * The upstreams of bench/balancing.ts: three small HTTP servers in this one Node process, each on
 * a free 127.0.0.1 port, and a fourth port for control. Each answers every request with `ok`
 * (200) after its `delayMs`, or with `fail` (500) to a random `failShare` of them, and names
 * itself in an `x-peer` header (`a`, `b`, `c`), so the load generator can tell who answered
 * through a proxy. Idle keep-alive connections are kept 300 s (and say so in `Keep-Alive`), so
 * no proxy ever sees its idle upstream connection closed by the upstream during a run.
 *
 *   node bench/balancing/upstreams.ts    → prints {"peers":[P1,P2,P3],"control":PC} on stdout
 *
 * Control (plain GETs on the control port, never counted):
 *   /set?peer=N&delay=MS&fail=SHARE   how peer N (0-2) answers from now on
 *   /stats                            [{requests, failed, connections}] per peer since the last /reset
 *   /reset                            counters to 0
 *
 * It exits by itself after `--max-seconds` (default 900), should its parent die without stopping it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface Behaviour {
  delayMs: number;
  failShare: number;
}

interface Counters {
  requests: number;
  failed: number;
  /** Connections accepted (a proxy's pool opening, TCP health checks). */
  connections: number;
}

const NAMES = ['a', 'b', 'c'] as const;
const behaviours: Behaviour[] = NAMES.map(() => ({ delayMs: 1, failShare: 0 }));
const counters: Counters[] = NAMES.map(() => ({ requests: 0, failed: 0, connections: 0 }));

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function peerServer(index: number): http.Server {
  const name = NAMES[index]!;
  const server = http.createServer({ keepAliveTimeout: 300_000, headersTimeout: 310_000, requestTimeout: 0, noDelay: true }, (req, res) => {
    const { delayMs, failShare } = behaviours[index]!;
    const count = counters[index]!;
    count.requests++;
    const fail = failShare > 0 && Math.random() < failShare;
    if (fail) count.failed++;
    // Drain any request body; answer after the delay.
    req.resume();
    setTimeout(() => {
      const body = fail ? 'fail' : 'ok';
      res.writeHead(fail ? 500 : 200, { 'content-type': 'text/plain', 'content-length': body.length, 'x-peer': name });
      res.end(body);
    }, delayMs);
  });
  server.on('connection', () => counters[index]!.connections++);
  return server;
}

const control = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://control');
  const reply = (status: number, value: unknown) => {
    const body = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  switch (url.pathname) {
    case '/set': {
      const peer = Number(url.searchParams.get('peer'));
      const delayMs = Number(url.searchParams.get('delay') ?? '1');
      const failShare = Number(url.searchParams.get('fail') ?? '0');
      if (!(peer >= 0 && peer < NAMES.length) || !(delayMs >= 0) || !(failShare >= 0 && failShare <= 1)) return reply(400, { error: 'bad parameters' });
      behaviours[peer] = { delayMs, failShare };
      return reply(200, behaviours);
    }
    case '/stats':
      return reply(200, counters);
    case '/reset':
      for (const count of counters) count.requests = count.failed = count.connections = 0;
      return reply(200, counters);
    default:
      return reply(404, { error: 'no such control path' });
  }
});

const peers = await Promise.all(NAMES.map((_, i) => listen(peerServer(i))));
const controlPort = await listen(control);
process.stdout.write(`${JSON.stringify({ peers, control: controlPort })}\n`);
const maxIndex = process.argv.indexOf('--max-seconds');
const maxSeconds = maxIndex > 0 ? Number(process.argv[maxIndex + 1]) : 900;
setTimeout(() => process.exit(0), maxSeconds * 1000).unref();
// The servers keep the process alive until then.
