import type { Log } from '../../core/log.ts';

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
type Level = keyof typeof LEVELS;

/**
 * The `Log` surface over `console`, for runtimes without pino: one JSON line per entry, with
 * pino's field names (`level`, `time`, `msg`), so `wrangler tail` output and Node logs read alike.
 */
export function consoleLog(minimum: string | undefined): Log {
  const floor = LEVELS[(minimum ?? 'info') as Level] ?? LEVELS.info;
  const write = (level: Level) => (fields: object, message: string): void => {
    if (LEVELS[level] < floor) return;
    const line = JSON.stringify({ level: LEVELS[level], time: Date.now(), ...fields, msg: message });
    if (level === 'error') console.error(line);
    else if (level === 'warn') console.warn(line);
    else console.log(line);
  };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    isLevelEnabled: (level) => LEVELS[level] >= floor,
  };
}
