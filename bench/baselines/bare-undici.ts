/**
 * Reference, not a balancer: the least a Node proxy can do per request — node:http in front,
 * undici Pool.stream behind, round robin, no health, no header rules, no retries, no logging.
 * It shows the ceiling of the Node runtime on this rig, which edgelb's own figures are read
 * against. Usage: node bench/baselines/bare-undici.ts LISTEN_PORT PEER_PORT...
 */
import http from 'node:http';
import { Pool } from 'undici';

const [listenArg, ...peerArgs] = process.argv.slice(2);
const listenPort = Number(listenArg);
if (!Number.isInteger(listenPort) || peerArgs.length === 0) {
  console.error('usage: bare-undici.ts LISTEN_PORT PEER_PORT...');
  process.exit(2);
}
const pools = peerArgs.map((port) => new Pool(`http://127.0.0.1:${Number(port)}`));

let next = 0;
const server = http.createServer((req, res) => {
  const pool = pools[next]!;
  next = (next + 1) % pools.length;
  pool.stream(
    { path: req.url!, method: req.method as 'GET', headers: req.rawHeaders, body: req.method === 'GET' || req.method === 'HEAD' ? null : req },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, headers as http.OutgoingHttpHeaders);
      return res;
    },
  ).catch(() => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
});
server.listen(listenPort, '127.0.0.1');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close();
    process.exit(0);
  });
}
