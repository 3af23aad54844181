/**
 * Baseline: the common "Node reverse proxy" of the npm package http-proxy, with a
 * keep-alive agent and round robin, i.e. what a small hand-written Node balancer
 * looks like. Usage: node bench/baselines/http-proxy.ts LISTEN_PORT PEER_PORT...
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import httpProxy from 'http-proxy';

const [listenArg, ...peerArgs] = process.argv.slice(2);
const listenPort = Number(listenArg);
if (!Number.isInteger(listenPort) || peerArgs.length === 0) {
  console.error('usage: http-proxy.ts LISTEN_PORT PEER_PORT...');
  process.exit(2);
}
const targets = peerArgs.map((port) => `http://127.0.0.1:${Number(port)}`);

// Without an agent http-proxy sends "Connection: close" upstream; with a keep-alive
// agent it pools, which is the fair comparison with nginx's "keepalive 64".
const agent = new http.Agent({ keepAlive: true });
const proxy = httpProxy.createProxyServer({ agent });

proxy.on('error', (_err: Error, _req: http.IncomingMessage, res: http.ServerResponse | Socket) => {
  if (!(res instanceof http.ServerResponse)) {
    res.destroy();
    return;
  }
  if (!res.headersSent) res.writeHead(502);
  res.end();
});

let next = 0;
const server = http.createServer((req, res) => {
  const target = targets[next]!;
  next = (next + 1) % targets.length;
  proxy.web(req, res, { target });
});

server.listen(listenPort, '127.0.0.1');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close();
    agent.destroy();
    process.exit(0);
  });
}
