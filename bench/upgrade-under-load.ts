/**
 * Graceful upgrades under load: wrk keeps 64 keep-alive connections busy against edgelb
 * (threads: 2) for `--seconds`, while every `--every` seconds a new process is started with
 * `-u -d` and the running one gets SIGQUIT. Prints wrk's totals and its error counts (connect =
 * refused, read = reset or closed mid-response), which must all be 0.
 *
 *   node bench/upgrade-under-load.ts [--seconds 20] [--every 4] [--port 18480]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    every: { type: 'string', default: '4' },
    port: { type: 'string', default: '18480' },
  },
});
const seconds = Number(values.seconds);
const everyMs = Number(values.every) * 1000;
const port = Number(values.port);
const root = fileURLToPath(new URL('../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'edgelb-upgrade-bench-'));
const pidFile = join(dir, 'edgelb.pid');
const configFile = join(dir, 'edgelb.yaml');
const edgelb = (args: string[]) => spawn(process.execPath, [join(root, 'bin/edgelb.js'), ...args], {
  stdio: ['ignore', 'ignore', 'pipe'],
  env: { ...process.env, LOG_LEVEL: 'warn' },
});
const lineOf = (child: ReturnType<typeof edgelb>, match: RegExp) =>
  new Promise<void>((resolve) => createInterface({ input: child.stderr! }).on('line', (line) => match.test(line) && resolve()));

const upstream = spawn(process.execPath, [join(root, 'examples/upstream.ts'), '--name', 'peer', '--port', String(port + 1)], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((resolve) => upstream.stdout.once('data', resolve));
writeFileSync(configFile, `threads: 2
pid_file: ${pidFile}
error_log: ${join(dir, 'error.log')}
upgrade_sock: ${join(dir, 'upgrade.sock')}
grace_period_seconds: 10
listen: ["127.0.0.1:${port}"]
upstreams:
  web: { peers: ["127.0.0.1:${port + 1}"] }
`);
const first = edgelb(['-d', '-c', configFile]);
if ((await new Promise((resolve) => first.once('exit', resolve))) !== 0) throw new Error('edgelb did not start');

const wrk = spawn('wrk', ['-t2', '-c64', `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}/`], { stdio: ['ignore', 'pipe', 'inherit'] });
let report = '';
wrk.stdout.on('data', (chunk) => (report += chunk));
const wrkDone = new Promise((resolve) => wrk.once('exit', resolve));

let upgrades = 0;
const deadline = performance.now() + seconds * 1000 - everyMs / 2;
while (performance.now() + everyMs < deadline) {
  await new Promise((resolve) => setTimeout(resolve, everyMs));
  const next = edgelb(['-u', '-d', '-c', configFile]);
  await lineOf(next, /waiting on/);
  process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGQUIT');
  if ((await new Promise((resolve) => next.once('exit', resolve))) !== 0) throw new Error('the new process did not take over');
  upgrades++;
}
await wrkDone;
process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
upstream.kill();

const requests = /(\d+) requests in/.exec(report)?.[1];
const errors = /Socket errors: (.*)/.exec(report)?.[1] ?? 'connect 0, read 0, write 0, timeout 0';
const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(report)?.[1] ?? '0';
const rps = /Requests\/sec:\s+([\d.]+)/.exec(report)?.[1];
const p99 = /99%\s+(\S+)/.exec(report)?.[1];
process.stdout.write(`${upgrades} upgrades in ${seconds} s under wrk -t2 -c64: ${requests} requests (${rps} req/s, p99 ${p99}), socket errors: ${errors}, non-2xx: ${non2xx}\n`);
