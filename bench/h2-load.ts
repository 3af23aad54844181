/**
 * A small HTTP/2 load client (wrk speaks only HTTP/1.1): `SESSIONS` connections, each keeping
 * `STREAMS` requests in flight, for `SECONDS`; prints the completed requests and failures as JSON.
 *   node bench/h2-load.ts https://127.0.0.1:8443/ [SECONDS=3] [SESSIONS=4] [STREAMS=16]
 * Certificates are not verified: this measures throughput on a rig, nothing else.
 */
import { connect, type ClientHttp2Session } from 'node:http2';

const [url = 'https://127.0.0.1:8443/', seconds = '3', sessions = '4', streams = '16'] = process.argv.slice(2);
const deadline = performance.now() + Number(seconds) * 1000;
let completed = 0;
let failed = 0;

function loop(session: ClientHttp2Session): Promise<void> {
  return new Promise((resolve) => {
    const next = () => {
      if (performance.now() >= deadline) return resolve();
      const stream = session.request({ ':path': new URL(url).pathname });
      stream.on('response', (headers) => (headers[':status'] === 200 ? completed++ : failed++));
      stream.resume();
      stream.on('close', next);
      stream.on('error', () => failed++);
    };
    next();
  });
}

const started = performance.now();
await Promise.all(Array.from({ length: Number(sessions) }, async () => {
  const session = connect(url, { rejectUnauthorized: false });
  await Promise.all(Array.from({ length: Number(streams) }, () => loop(session)));
  session.close();
}));
const elapsed = (performance.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ completed, failed, seconds: Number(elapsed.toFixed(2)), rps: Math.round(completed / elapsed) })}\n`);
