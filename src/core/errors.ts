/**
 * Errors are values with a kind; each kind maps to exactly one HTTP status here, so the
 * request path never decides status codes ad hoc.
 */
export type ProxyErrorKind =
  | 'no_route' | 'no_healthy_peer' | 'upstream_busy' | 'upstream_timeout' | 'bad_gateway' | 'bad_request' | 'request_timeout'
  | 'body_too_large' | 'uri_too_long' | 'headers_too_large';

const STATUS: Record<ProxyErrorKind, number> = {
  bad_request: 400,
  no_route: 404,
  request_timeout: 408,
  body_too_large: 413,
  uri_too_long: 414,
  headers_too_large: 431,
  bad_gateway: 502,
  no_healthy_peer: 503,
  upstream_busy: 503,
  upstream_timeout: 504,
};

export class ProxyError extends Error {
  readonly kind: ProxyErrorKind;
  readonly status: number;

  constructor(kind: ProxyErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProxyError';
    this.kind = kind;
    this.status = STATUS[kind];
  }
}

export function noHealthyPeer(pool: string): ProxyError {
  return new ProxyError('no_healthy_peer', `no healthy peer in pool "${pool}"`);
}

export function noRoute(): ProxyError {
  return new ProxyError('no_route', 'no route takes this request');
}

/** Every candidate peer has its connections in use and its wait queue full. */
export function upstreamBusy(pool: string): ProxyError {
  return new ProxyError('upstream_busy', `every peer of pool "${pool}" is at its connection limit`);
}

/** A config that cannot be used: one line per problem, each naming the key path. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[], source?: string) {
    super(`${source ? `${source}: ` : ''}invalid config\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** `CODE: message` for logs, from whatever was thrown (undici and Node errors carry a code). */
export function describeError(error: unknown): string | undefined {
  if (error === undefined) return undefined;
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
}
