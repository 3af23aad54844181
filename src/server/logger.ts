import pino, { type Logger } from 'pino';

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

/**
 * The level comes from `LOG_LEVEL`, or `RUST_LOG` as the tutorial's users know it (its
 * `module=level` form is read for the level alone). Default: info.
 */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  for (const raw of [env.LOG_LEVEL, env.RUST_LOG]) {
    if (!raw) continue;
    const level = raw.split(',').map((part) => part.split('=').pop()!.trim().toLowerCase()).find((l) => LEVELS.has(l));
    if (level) return level;
  }
  return 'info';
}

/**
 * JSON lines on stderr through an asynchronous destination, so a burst of log lines never
 * blocks the request path. `flushLogs` must run before the process exits.
 */
export function createLogger(level = logLevelFromEnv()): Logger {
  const destination = pino.destination({ dest: 2, sync: false });
  const log = pino({ level, base: { pid: process.pid } }, destination);
  flushers.set(log, () => destination.flushSync());
  return log;
}

const flushers = new WeakMap<Logger, () => void>();

/** Writes out buffered log lines; call it before the process exits. */
export function flushLogs(log: Logger): void {
  try {
    flushers.get(log)?.();
  } catch {
    // Nothing more can be done about a log that cannot be written at exit.
  }
}
