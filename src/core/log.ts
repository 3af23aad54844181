/**
 * The logging surface the runtime-neutral code needs: pino's call shape (fields first, then
 * the message), so Node passes a pino logger and an edge runtime can pass a console adapter.
 */
export interface Log {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  isLevelEnabled(level: 'debug' | 'info' | 'warn' | 'error'): boolean;
}
