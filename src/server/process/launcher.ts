import { spawn, type StdioOptions } from 'node:child_process';
import { openSync, unlinkSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { Config } from '../../core/config.ts';
import { DAEMON_ACCESS_LOG, daemonAccessLog } from '../daemon-access-log.ts';
import { entryFile } from './entry-file.ts';
import { readPidFile } from './pid-file.ts';

export interface LaunchOptions {
  readonly configFile: string;
  readonly config: Config;
  readonly daemon: boolean;
  readonly upgrade: boolean;
}

type Readiness = { serving: true; pid: number; listen: string[] } | { serving: false; reason?: string };

/**
 * `-d` and `-u`: starts the primary as its own process and reports how that went. With `-d` the
 * primary is detached (own session, logs to `error_log`) and this returns once it serves, or
 * fails with its reason (a taken port, a live instance). With `-u` it first waits on
 * `upgrade_sock` for the running instance (send it SIGQUIT), and the connection becomes the
 * primary's IPC channel, over which the listening sockets arrive. Without `-d` it stays in the
 * foreground, passing signals on, until the primary exits.
 */
export async function launch({ configFile, config, daemon, upgrade }: LaunchOptions): Promise<number> {
  if (!upgrade) {
    const existing = readPidFile(config.pid_file);
    if (existing.kind === 'running') {
      process.stderr.write(`edgelb: already running (pid ${existing.pid} in ${config.pid_file}); stop it first, or start the new build with -u to upgrade it\n`);
      return 1;
    }
    if (existing.kind === 'stale') process.stderr.write(`edgelb: ${config.pid_file} names a process that is gone (pid ${existing.pid}); replacing it\n`);
  }
  const connection = upgrade ? await waitForRunningInstance(config.upgrade_sock) : undefined;
  const output = daemon ? (config.error_log === undefined ? 'ignore' : openSync(config.error_log, 'a')) : 'inherit';
  const stdio: StdioOptions = ['ignore', output, output, 'pipe'];
  if (connection !== undefined) stdio.push(connection);
  const primary = spawn(process.execPath, [...process.execArgv, entryFile('primary-main'), configFile], {
    detached: daemon,
    stdio,
    env: {
      ...process.env,
      ...(connection === undefined ? {} : { EDGELB_TAKE_OVER: '1', NODE_CHANNEL_FD: '4' }),
      ...(daemon && config.access_log === true ? { [DAEMON_ACCESS_LOG]: daemonAccessLog(config) } : {}),
    },
  });
  connection?.destroy();
  const readiness = await readinessOf(primary.stdio[3] as NodeJS.ReadableStream);
  if (!readiness.serving) {
    process.stderr.write(`edgelb: cannot start: ${readiness.reason ?? 'the primary process exited'}${daemon && config.error_log ? ` (see ${config.error_log})` : ''}\n`);
    return 1;
  }
  if (daemon) {
    process.stdout.write(`edgelb: serving on ${readiness.listen.join(', ')} (pid ${readiness.pid})\n`);
    primary.unref();
    return 0;
  }
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP'] as const) process.on(signal, () => primary.kill(signal));
  return new Promise((resolve) => primary.once('exit', (code) => resolve(code ?? 1)));
}

function waitForRunningInstance(path: string): Promise<Socket> {
  try {
    unlinkSync(path);
  } catch {
    // No socket file left from an earlier run.
  }
  return new Promise((resolve, reject) => {
    const server = createServer((connection) => {
      server.close();
      resolve(connection);
    });
    server.once('error', reject);
    server.listen(path, () => process.stderr.write(`edgelb: waiting on ${path} for the running instance's listening sockets (send it SIGQUIT)\n`));
  });
}

function readinessOf(pipe: NodeJS.ReadableStream): Promise<Readiness> {
  return new Promise((resolve) => {
    let result: Readiness = { serving: false };
    createInterface({ input: pipe })
      .on('line', (line) => {
        try {
          result = JSON.parse(line) as Readiness;
        } catch {
          // Not a readiness line: keep waiting.
        }
      })
      .on('close', () => resolve(result));
  });
}
