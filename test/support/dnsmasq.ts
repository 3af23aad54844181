import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';
import { freePort } from './ports.ts';
import { waitFor } from './wait-for.ts';

const DNSMASQ = process.env.DNSMASQ ?? 'dnsmasq';

export interface DnsServer {
  /** `host:port` for `nameservers`. */
  readonly address: string;
  /** Rewrites the hosts file (`ADDRESS NAME` lines); the server re-reads it on its own, and this resolves once it answers so. */
  setHosts(entries: ReadonlyArray<readonly [string, string]>): Promise<void>;
  kill(): Promise<void>;
}

/**
 * A real DNS server (Debian's dnsmasq) on a free loopback port, answering only from a hosts
 * file it watches and from `srv` records (`--srv-host` values), with nothing forwarded anywhere.
 * It fails (never skips) when dnsmasq is not installed.
 */
export async function startDnsServer(hosts: ReadonlyArray<readonly [string, string]>, srv: readonly string[] = []): Promise<DnsServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-dns-'));
  const hostsDir = join(dir, 'hosts');
  mkdirSync(hostsDir);
  const write = (entries: ReadonlyArray<readonly [string, string]>) =>
    writeFileSync(join(hostsDir, 'hosts'), entries.map(([address, name]) => `${address} ${name}\n`).join(''));
  write(hosts);
  const child: ChildProcess = spawn(DNSMASQ, [
    '--no-daemon', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts',
    `--hostsdir=${hostsDir}`, '--user=root', '--pid-file=', '--log-facility=-', '--local-ttl=0',
    ...srv.map((record) => `--srv-host=${record}`),
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`cannot run ${DNSMASQ} (install Debian's dnsmasq): ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`dnsmasq exited with ${code}: ${output.join('')}`)));
  });
  failed.catch(() => {});
  process.on('exit', () => child.kill('SIGKILL'));
  const resolver = new Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  const answers = async (name: string) => (await resolver.resolve4(name).catch(() => [])).sort().join();
  const first = hosts[0];
  if (first !== undefined) {
    await Promise.race([waitFor('dnsmasq to answer', async () => (await answers(first[1])) !== '', { timeoutMs: 10_000 }), failed]);
  }
  return {
    address: `127.0.0.1:${port}`,
    async setHosts(entries) {
      write(entries);
      const byName = new Map<string, string[]>();
      for (const [address, name] of entries) byName.set(name, [...(byName.get(name) ?? []), address]);
      await waitFor('dnsmasq to answer with the new hosts', async () => {
        for (const [name, addresses] of byName) if ((await answers(name)) !== addresses.sort().join()) return false;
        return true;
      }, { timeoutMs: 10_000 });
    },
    kill: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    }),
  };
}
