import { closeSync, writeSync } from 'node:fs';
import { describeError } from '../../core/errors.ts';
import { loadConfigFile } from '../config-file.ts';
import { createLogger, flushLogs } from '../logger.ts';
import { bindHeldSockets, heldAddresses } from './listen-sockets.ts';
import { runPrimary } from './primary.ts';
import { confirmTakeOver, matchListenSockets, receiveListeners } from './upgrade-take-over.ts';

/**
 * The primary as the launcher starts it (`-d`, `-u`): the config file is argv[2]; fd 3 is the
 * launcher's readiness pipe, which gets one JSON line (serving, or why not); with
 * EDGELB_TAKE_OVER the IPC channel is the `upgrade_sock` connection the old process sends its
 * listening sockets over.
 */
const READY_FD = 3;
const log = createLogger();

function report(line: object): void {
  try {
    writeSync(READY_FD, `${JSON.stringify(line)}\n`);
    closeSync(READY_FD);
  } catch {
    // The launcher is gone (killed): nobody is waiting for this line.
  }
}

process.on('unhandledRejection', (reason) => log.error({ error: describeError(reason) }, 'unhandled rejection'));
process.on('uncaughtException', (error) => {
  log.fatal({ error: describeError(error), stack: error.stack }, 'uncaught exception; exiting');
  flushLogs(log);
  process.exit(1);
});

let code: number;
try {
  const configFile = process.argv[2]!;
  const config = await loadConfigFile(configFile);
  const takeOver = process.env.EDGELB_TAKE_OVER === '1';
  const received = takeOver ? await receiveListeners() : undefined;
  const sockets = received !== undefined ? matchListenSockets(heldAddresses(config), received.sockets) : bindHeldSockets(config);
  code = await runPrimary({
    config,
    configFile,
    sockets,
    held: received?.held,
    log,
    pidFile: config.pid_file,
    onServing(listen) {
      report({ serving: true, pid: process.pid, listen });
      if (takeOver) confirmTakeOver();
    },
  });
} catch (error) {
  log.fatal({ error: describeError(error) }, 'cannot start');
  report({ serving: false, reason: describeError(error) });
  code = 1;
}
flushLogs(log);
process.exit(code);
