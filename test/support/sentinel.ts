import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { freePort } from './ports.ts';
import { spawnRedis } from './redis.ts';
import { waitFor } from './wait-for.ts';

const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';
export const MASTER_NAME = 'mymaster';

export interface SentinelSet {
  readonly masterPort: number;
  readonly replicaPort: number;
  readonly sentinelPort: number;
  /** The `redis` config value for this set. */
  readonly config: { sentinels: string[]; master: string };
  /** SIGKILL the master, as in a crash. */
  killMaster(): Promise<void>;
  /** The port the Sentinel names as master now. */
  masterPortNow(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * A master and its replica (real redis-servers, no persistence) on free loopback ports, watched
 * by one real Sentinel (`redis-server --sentinel`, quorum 1) that fails over a second after the
 * master stops answering. Resolves once the Sentinel knows the replica, so a failover can happen.
 */
export async function startSentinelSet(): Promise<SentinelSet> {
  const [masterPort, replicaPort, sentinelPort] = [await freePort(), await freePort(), await freePort()];
  const children: ChildProcess[] = [];
  children.push(await spawnRedis(masterPort, []));
  children.push(await spawnRedis(replicaPort, ['--replicaof', '127.0.0.1', String(masterPort)]));
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-sentinel-'));
  const file = join(dir, 'sentinel.conf');
  // The Sentinel rewrites its file as it learns the set: it must be its own, and writable.
  writeFileSync(file, [
    `port ${sentinelPort}`,
    'bind 127.0.0.1',
    `dir ${dir}`,
    `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 1`,
    `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
    `sentinel failover-timeout ${MASTER_NAME} 10000`,
    '',
  ].join('\n'));
  const sentinel = spawn(REDIS_SERVER, [file, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(sentinel);
  const output: string[] = [];
  createInterface({ input: sentinel.stdout! }).on('line', (line) => output.push(line));
  process.on('exit', () => sentinel.kill('SIGKILL'));
  const ask = new Redis({ host: '127.0.0.1', port: sentinelPort, lazyConnect: true, maxRetriesPerRequest: 1 });
  ask.on('error', () => {});
  await waitFor('the Sentinel to know the replica', async () => {
    const replicas = await ask.call('SENTINEL', 'REPLICAS', MASTER_NAME).catch(() => []) as string[][];
    return replicas.some((fields) => fields.includes(String(replicaPort)) && fields[fields.indexOf('flags') + 1] === 'slave');
  }, { timeoutMs: 15_000 }).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${output.join('\n')}`);
  });
  const kill = (child: ChildProcess) => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
  return {
    masterPort,
    replicaPort,
    sentinelPort,
    config: { sentinels: [`127.0.0.1:${sentinelPort}`], master: MASTER_NAME },
    killMaster: () => kill(children[0]!),
    async masterPortNow() {
      const [, port] = await ask.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME) as [string, string];
      return Number(port);
    },
    async stop() {
      ask.disconnect();
      await Promise.all(children.map(kill));
    },
  };
}
