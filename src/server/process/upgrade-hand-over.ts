import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { entryFile } from './entry-file.ts';
import type { ListenSocket } from './listen-sockets.ts';
import type { HeldState } from './messages.ts';

/** How long SIGQUIT waits for a new build (`edgelb -u`) to listen on `upgrade_sock`. */
export const UPGRADE_WAIT_MS = 30_000;
/** How long the new build may take from receiving the sockets to serving on them. */
const TAKE_OVER_TIMEOUT_MS = 60_000;
const RETRY_MS = 100;

/**
 * The old side of a graceful upgrade. Node sends sockets only over its IPC channel, and a
 * process gets one only at start; so a small helper is started with the `upgrade_sock`
 * connection as its IPC channel and the listening sockets as inherited fds, sends them to the
 * new build with what this primary holds for its operators (drains, added peers), and exits 0
 * once the new build serves on them. The sockets are the same kernel
 * objects: connections waiting in their queues are accepted by whichever side accepts next.
 * Resolves true when the new build took over.
 */
export async function handOverListeners(
  sockets: readonly ListenSocket[], upgradeSock: string, log: Logger, cancelled: () => boolean, held: () => HeldState,
): Promise<boolean> {
  const connection = await connectWithin(upgradeSock, UPGRADE_WAIT_MS, cancelled);
  if (cancelled()) {
    connection?.destroy();
    return false;
  }
  if (connection === undefined) {
    log.error({ upgradeSock, waitedMs: UPGRADE_WAIT_MS }, 'no new process is waiting on upgrade_sock (start it with -u); still serving');
    return false;
  }
  log.info({ upgradeSock, listeners: sockets.length }, 'handing the listening sockets to the new process');
  const helper = spawn(process.execPath, [entryFile('upgrade-hand-over-helper')], {
    stdio: ['ignore', 'inherit', 'inherit', connection, ...sockets.map((socket) => socket.fd)],
    env: { ...process.env, NODE_CHANNEL_FD: '3', EDGELB_HANDOVER_COUNT: String(sockets.length), EDGELB_HANDOVER_HELD: JSON.stringify(held()) },
  });
  connection.destroy();
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => helper.kill('SIGKILL'), TAKE_OVER_TIMEOUT_MS);
    helper.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  if (code !== 0) log.error({ upgradeSock }, 'the new process did not take over the listening sockets; still serving');
  return code === 0;
}

async function connectWithin(path: string, waitMs: number, cancelled: () => boolean): Promise<Socket | undefined> {
  const deadline = performance.now() + waitMs;
  while (performance.now() < deadline && !cancelled()) {
    const socket = await new Promise<Socket | undefined>((resolve) => {
      const attempt = connect(path, () => resolve(attempt));
      attempt.once('error', () => resolve(undefined));
    });
    if (socket !== undefined) return socket;
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  return undefined;
}
