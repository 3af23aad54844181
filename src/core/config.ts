import { z } from 'zod';
import { parseAddress, type Address } from './address.ts';
import { MAX_DURATION_MS, parseDuration } from './duration.ts';

/**
 * The config file's schema. Data is validated here, at the boundary, and everything after
 * works with the plain typed `Config` it produces. Unknown keys are errors so that a typo
 * never silently falls back to a default.
 */

const duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const parsed = parseDuration(value);
  if ('error' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }
  return parsed.ms;
});

const addressOf = (options: { allowPortZero: boolean }) =>
  z.string().transform((text, ctx): Address => {
    const parsed = parseAddress(text, options);
    if ('error' in parsed) {
      ctx.addIssue({ code: 'custom', message: parsed.error });
      return z.NEVER;
    }
    return parsed;
  });
const address = addressOf({ allowPortZero: false });

/** A Host header value: a name or IP, optionally with a port (no spaces or control characters). */
const HOST_HEADER = /^(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
/** A request target for health checks: visible ASCII only, as it goes on the request line. */
const REQUEST_PATH = /^\/[\x21-\x7e]*$/;
const notAvailable = (what: string) => `${what} is not available in this version`;

const healthCheck = z
  .strictObject({
    type: z.enum(['tcp', 'http']).default('tcp'),
    interval: duration.default(1000),
    timeout: duration.default(1000),
    rise: z.int().min(1).default(1),
    fall: z.int().min(1).default(1),
    /** Only for `type: http`: the path requested; any status below 400 passes. */
    path: z.string().regex(REQUEST_PATH, 'must start with "/" and contain no spaces or control characters').default('/'),
  })
  .refine((check) => check.interval > 0, { message: 'must be greater than 0', path: ['interval'] })
  .refine((check) => check.timeout > 0, { message: 'must be greater than 0', path: ['timeout'] });

const pool = z.strictObject({
  peers: z.array(address).min(1, 'a pool needs at least one peer'),
  selection: z.enum(['round_robin']).default('round_robin'),
  /** Host header (and, with TLS, SNI) sent upstream; absent: the client's Host passes through. */
  host: z.string().regex(HOST_HEADER, 'must be a host name or IP, optionally with :port').optional(),
  tls: z.literal(false, notAvailable('TLS to upstreams')).default(false),
  health_check: healthCheck.default({
    type: 'tcp', interval: 1000, timeout: 1000, rise: 1, fall: 1, path: '/',
  }),
  /** Further peers tried after a connection failure; default: every other peer, at most 3. */
  retries: z.int().min(0).optional(),
  connect_timeout: duration.default(1000),
  /** Longest wait for the response headers, and between two body chunks, before a 504. */
  read_timeout: duration.default(60_000),
});

/** A listener is `host:port`, or an object for the options a later version adds (TLS, h2). */
const listener = z.preprocess(
  (value) => (typeof value === 'string' ? { addr: value } : value),
  z.strictObject({
    addr: addressOf({ allowPortZero: true }),
    tls: z.undefined(notAvailable('a TLS listener')).optional(),
    h2: z.literal(false, notAvailable('HTTP/2')).optional(),
  }).transform((l) => l.addr),
);

export const configSchema = z.strictObject({
  version: z.literal(1, 'only version 1 exists').default(1),
  threads: z.int().min(1).default(1),
  /** Same as `-d`: run in the background. */
  daemon: z.boolean().default(false),
  pid_file: z.string().min(1).default('/tmp/edgelb.pid'),
  error_log: z.string().min(1).optional(),
  upgrade_sock: z.string().min(1).default('/tmp/edgelb.sock'),
  grace_period_seconds: z.number().nonnegative().max(MAX_DURATION_MS / 1000, 'at most 24 days').default(30),
  listen: z.array(listener).min(1, 'needs at least one address').default([{ host: '0.0.0.0', port: 8080 }]),
  upstreams: z
    .record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'pool names use letters, digits, "_", "." and "-"'), pool, 'required: a map of pools, each with peers')
    .refine((pools) => Object.keys(pools).length > 0, 'needs at least one pool'),
  redis: z
    .url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' })
    .refine(() => false, notAvailable('a shared health store in Redis (this version runs embedded)'))
    .optional(),
});

export type Config = z.output<typeof configSchema>;
export type PoolConfig = Config['upstreams'][string];

/** One line per problem, each naming the key path and the reason. */
export function validateConfig(input: unknown): { config: Config } | { problems: string[] } {
  const result = configSchema.safeParse(input ?? {});
  if (result.success) return { config: result.data };
  const problems: string[] = [];
  for (const issue of result.error.issues) {
    const at = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push(`${at ? `${at}.` : ''}${key}: unknown key`);
    } else {
      problems.push(`${at || '(top level)'}: ${issue.message}`);
    }
  }
  return { problems };
}
