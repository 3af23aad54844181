import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { freePort } from './ports.ts';
import { waitFor } from './wait-for.ts';

const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** With `tls`: the certificate to trust (it signs itself), e.g. as NODE_EXTRA_CA_CERTS. */
  readonly caFile?: string;
  /** SIGKILL: Redis vanishes as in a crash; with `--save ""` nothing survives. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: Redis hangs with its connections open, as when its host stalls. */
  pause(): void;
  resume(): void;
  /** Starts a fresh, empty redis-server on the same port. */
  restart(): Promise<void>;
  /** A client for the test's own reads and writes; closed by `kill`. */
  client(): Redis;
}

/**
 * Starts a real `redis-server` on a free loopback port, without persistence. It fails (never
 * skips) when redis-server is not installed: these tests are about Redis.
 */
export async function startRedis(options: { tls?: boolean; password?: string; port?: number } = {}): Promise<RedisServer> {
  const port = options.port ?? await freePort();
  const extra: string[] = options.password ? ['--requirepass', options.password] : [];
  let caFile: string | undefined;
  if (options.tls) {
    const dir = mkdtempSync(join(tmpdir(), 'edgelb-redis-tls-'));
    caFile = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', caFile], { stdio: 'ignore' });
    extra.push('--tls-port', String(port), '--tls-cert-file', caFile, '--tls-key-file', join(dir, 'key.pem'), '--tls-auth-clients', 'no');
  }
  let child = await spawnRedis(options.tls ? 0 : port, extra);
  const clients: Redis[] = [];
  const stop = async () => {
    for (const client of clients.splice(0)) client.disconnect();
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  };
  const credentials = options.password ? `:${options.password}@` : '';
  return {
    port,
    url: `${options.tls ? 'rediss' : 'redis'}://${credentials}127.0.0.1:${port}/0`,
    ...(caFile ? { caFile } : {}),
    kill: stop,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    async restart() {
      await stop();
      child = await spawnRedis(options.tls ? 0 : port, extra);
    },
    client() {
      const client = new Redis({ host: '127.0.0.1', port, lazyConnect: false, maxRetriesPerRequest: 1 });
      client.on('error', () => {});
      clients.push(client);
      return client;
    },
  };
}

/** A redis-server child on `port` (0: `extra` names the port), once it accepts connections; killed when the test process exits. */
export async function spawnRedis(port: number, extra: string[]): Promise<ChildProcess> {
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'notice', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const output: string[] = [];
  let ready = false;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    output.push(line);
    if (line.includes('Ready to accept connections')) ready = true;
  });
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`cannot run ${REDIS_SERVER} (install Debian's redis-server): ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output.join('\n')}`)));
  });
  failed.catch(() => {});
  await Promise.race([waitFor('redis-server to accept connections', () => ready, { timeoutMs: 10_000 }), failed]);
  return child;
}
