/**
 * `npm start`: three demo upstreams (alpha, beta, gamma on 8081-8083), each its own process so
 * one can be killed and restarted, and edgelb in front of them on http://127.0.0.1:8080.
 * Ctrl-C stops everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const children: ChildProcess[] = [];

const upstreams = [['alpha', '8081'], ['beta', '8082'], ['gamma', '8083']] as const;
const listening: Promise<unknown>[] = [];
for (const [name, port] of upstreams) {
  const upstream = spawn(process.execPath, [here('./upstream.ts'), '--name', name, '--port', port], { stdio: ['ignore', 'pipe', 'inherit'] });
  upstream.stdout.pipe(process.stdout);
  // edgelb checks every peer before it serves: start it once the upstreams listen.
  listening.push(once(upstream.stdout, 'data'));
  children.push(upstream);
}
await Promise.race([Promise.all(listening), new Promise((resolve) => setTimeout(resolve, 5000))]);
const edgelb = spawn(process.execPath, [here('../bin/edgelb.js'), '-c', here('./demo.yaml')], { stdio: 'inherit' });
children.push(edgelb);

process.stdout.write(`
edgelb demo: http://127.0.0.1:8080 balances over alpha (8081), beta (8082), gamma (8083)
  try:   for i in $(seq 6); do curl -s http://127.0.0.1:8080/; done
  kill one:    pkill -f 'upstream.ts --name beta'
  bring back:  npm run demo-upstream -- --name beta --port 8082
Ctrl-C stops the demo.
`);

const stopAll = () => {
  for (const child of children) child.kill('SIGTERM');
};
process.on('SIGINT', stopAll);
process.on('SIGTERM', stopAll);
edgelb.on('exit', (code) => {
  stopAll();
  process.exitCode = code ?? 1;
});
