/**
 * A demo upstream: answers every request with its own name, so a `curl` loop against edgelb
 * shows the round robin. `node examples/upstream.ts --name alpha --port 8081`
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    name: { type: 'string', default: 'upstream' },
    port: { type: 'string', default: '8081' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});

const server = createServer((req, res) => {
  req.resume();
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(`${values.name}\n`);
});
server.listen(Number(values.port), values.host, () => {
  process.stdout.write(`demo upstream ${values.name} on http://${values.host}:${values.port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
