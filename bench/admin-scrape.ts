/**
 * What the admin listener's view of every worker costs: a `/metrics` scrape gathers each
 * worker's metrics through the primary and merges them. For threads 1, 2 and 4, one `edgelb` (as
 * a real process, its primary and workers) with 3 pools of 10 peers each (TCP listeners in this
 * process that answer HTTP) gets 3,000 requests, then this script scrapes `/metrics` one after
 * the other for a fixed count and reports the scrape latency, the bytes of the exposition and
 * the CPU time all edgelb processes spent per scrape (from /proc). It also reports the memory
 * (VmRSS) of the primary and of each worker after the traffic.
 * Usage: node bench/admin-scrape.ts [--scrapes 200] [--threads 1,2,4]
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { cpuMicros } from './rig/cpu-time.ts';
import { childPids, readMemory } from './rig/memory.ts';
import { stopAllProcesses, stopProcess } from './rig/processes.ts';
import { percentile } from './stats.ts';
import { startEdgelb, writeConfig } from './shared-health/rig.ts';
import { freePorts } from './rig/ports.ts';

const { values } = parseArgs({ options: { scrapes: { type: 'string', default: '200' }, threads: { type: 'string', default: '1,2,4' } } });
const scrapes = Number(values.scrapes);

async function peer(): Promise<Server> {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const peers = await Promise.all(Array.from({ length: 30 }, peer));
const addresses = peers.map((server) => `127.0.0.1:${(server.address() as AddressInfo).port}`);
const rows: object[] = [];
try {
  for (const threads of values.threads.split(',').map(Number)) {
    const [port, adminPort] = await freePorts(2);
    const config = writeConfig(`scrape-${threads}`, {
      threads,
      listen: [`127.0.0.1:${port}`],
      access_log: false,
      admin: { listen: `127.0.0.1:${adminPort}` },
      upstreams: Object.fromEntries([0, 1, 2].map((i) => [`pool${i}`, { peers: addresses.slice(i * 10, i * 10 + 10) }])),
      routes: [0, 1, 2].map((i) => ({ match: { path: `/p${i}` }, pool: `pool${i}` })),
    });
    const edge = startEdgelb(`edge-${threads}`, ['-c', config], { logLevel: 'warn' });
    const client = new Pool(`http://127.0.0.1:${port}`, { connections: 8 });
    const deadline = performance.now() + 15_000;
    for (;;) {
      const ok = await client.request({ path: '/p0', method: 'GET' }).then(async (res) => (await res.body.text(), res.statusCode === 200), () => false);
      if (ok) break;
      if (performance.now() > deadline) throw new Error('the edge did not serve');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await Promise.all(Array.from({ length: 3_000 }, async (_, i) => (await client.request({ path: `/p${i % 3}`, method: 'GET' })).body.text()));
    await client.close();
    const pids = [edge.proc.pid, ...childPids(edge.proc.pid)];
    const memory = pids.map((pid) => Math.round((readMemory(pid)?.rssKiB ?? 0) / 1024));
    const cpu = () => pids.reduce((sum, pid) => sum + (cpuMicros(pid) ?? 0), 0);
    const url = `http://127.0.0.1:${adminPort}/metrics`;
    let bytes = 0;
    for (let i = 0; i < 10; i++) bytes = (await (await fetch(url)).text()).length;
    const latencies: number[] = [];
    const cpuBefore = cpu();
    for (let i = 0; i < scrapes; i++) {
      const started = performance.now();
      await (await fetch(url)).text();
      latencies.push(performance.now() - started);
    }
    const cpuPerScrapeMs = (cpu() - cpuBefore) / scrapes / 1000;
    rows.push({
      threads,
      exposition: `${Math.round(bytes / 1024)} KiB`,
      scrapeP50Ms: Math.round(percentile(latencies, 50) * 10) / 10,
      scrapeP99Ms: Math.round(percentile(latencies, 99) * 10) / 10,
      cpuPerScrapeMs: Math.round(cpuPerScrapeMs * 10) / 10,
      rssMiB: { primary: memory[0], workers: memory.slice(1) },
    });
    await stopProcess(edge.proc);
  }
  for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
} finally {
  for (const server of peers) server.close();
  await stopAllProcesses();
}
