/**
 * Baseline: the Node proxy a team would pick today, fastify with @fastify/reply-from (maintained,
 * undici behind), set up as its README shows for several upstreams.
 * Usage: node bench/baselines/fastify-reply-from.ts LISTEN_PORT PEER_PORT...
 */
import { fastify } from 'fastify';
import replyFrom from '@fastify/reply-from';

const [listenArg, ...peerArgs] = process.argv.slice(2);
const listenPort = Number(listenArg);
if (!Number.isInteger(listenPort) || peerArgs.length === 0) {
  console.error('usage: fastify-reply-from.ts LISTEN_PORT PEER_PORT...');
  process.exit(2);
}
const origins = peerArgs.map((port) => `http://127.0.0.1:${Number(port)}`);

// No logger (fastify's default, spelled out): nginx, HAProxy and edgelb run without access
// logs here too.
const app = fastify({ logger: false });

// A list of bases is reply-from's documented way to balance: one undici BalancedPool, which
// with equal weights (no upstream errors) is plain round robin, one Pool per upstream.
// Picking the base per request instead would go through an undici Agent keyed by origin and
// parse a URL per request, which is neither faster nor what its users write.
await app.register(replyFrom, {
  base: origins.length === 1 ? origins[0]! : origins,
  // Its per-request "fetching from remote server" line would go to fastify's no-op logger
  // anyway; this skips building it.
  disableRequestLogging: true,
  undici: {
    // reply-from's own defaults, spelled out: one request per connection at a time, and more
    // connections per upstream than wrk's 64 could keep busy, so the pool never queues.
    connections: 128,
    pipelining: 1,
    // undici closes an idle connection after 4 s unless told otherwise; 60 s is what nginx
    // keeps idle upstream connections for and what edgelb runs with here.
    keepAliveTimeout: 60_000,
  },
});

// fastify parses JSON and text bodies by default and answers 415 to other types; a proxy must
// hand the request stream on untouched (as @fastify/http-proxy does), so one parser passes
// every body through and reply-from streams it upstream.
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', (_request, payload, done) => {
  done(null, payload);
});

app.all('/*', (_request, reply) => {
  // Without a source reply-from forwards the request's own path and query string.
  reply.from();
});

await app.listen({ host: '127.0.0.1', port: listenPort });

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void app.close();
    process.exit(0);
  });
}
