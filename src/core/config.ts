import { parseHashKey, type HashKey } from './selection/hash-key.ts';
import { z } from 'zod';
import { isLoopback, parseAddress, type Address } from './address.ts';
import { MAX_DURATION_MS, parseDuration } from './duration.ts';
import type { PeerSpec } from './peer.ts';
import { parseRedisUrl } from './redis-url.ts';
import { parseSize } from './size.ts';

/**
 * The config file's schema. Data is validated here, at the boundary, and everything after
 * works with the plain typed `Config` it produces. Unknown keys are errors so that a typo
 * never silently falls back to a default.
 */

/**
 * A transform that reads a value with `parse`, which either returns what it read or says why
 * it cannot; the reason becomes the problem line of the key.
 */
function readWith<I, T>(parse: (input: I) => T | { error: string }) {
  return (input: I, ctx: z.RefinementCtx): T => {
    const parsed = parse(input);
    if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) {
      ctx.addIssue({ code: 'custom', message: parsed.error });
      return z.NEVER;
    }
    return parsed as T;
  };
}

const duration = z.union([z.number(), z.string()]).transform(readWith(parseDuration)).transform((parsed) => parsed.ms);
const size = z.union([z.number(), z.string()]).transform(readWith(parseSize)).transform((parsed) => parsed.bytes);
const addressOf = (options: { allowPortZero: boolean }) => z.string().transform(readWith((text: string) => parseAddress(text, options)));

const address = addressOf({ allowPortZero: false });
/**
 * Where edgelb listens: an IP address or `localhost` (bound as 127.0.0.1). Listening sockets are
 * bound before any name could be looked up, and a name with several addresses would be ambiguous.
 */
const listenAddress = addressOf({ allowPortZero: true }).refine(
  (a) => a.host === 'localhost' || a.host.includes(':') || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(a.host),
  'must be an IP address or localhost, not a host name',
);

/** Kept as written: each process parses it where it connects. */
const redisUrl = z.string().superRefine((text, ctx) => void readWith(parseRedisUrl)(text, ctx));
/** A master watched by Sentinels: edges, probers and sidecars follow it across failovers. */
const redisSentinel = z.strictObject({
  sentinels: z.array(address).min(1, 'needs at least one sentinel host:port'),
  /** The name the Sentinels monitor it by (`sentinel monitor NAME ...`). */
  master: z.string().min(1),
  db: z.int().min(0).max(15).default(0),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  sentinel_password: z.string().min(1).optional(),
  /** TLS to the Sentinels and to the master. */
  tls: z.boolean().default(false),
});
// Chosen by the input's type, so a problem names the key as written.
const redis = z.unknown().transform((value, ctx) => {
  const parsed = typeof value === 'string' ? redisUrl.safeParse(value)
    : typeof value === 'object' && value !== null && !Array.isArray(value) ? redisSentinel.safeParse(value)
    : undefined;
  if (parsed === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be a redis:// URL or { sentinels, master }' });
    return z.NEVER;
  }
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue(issue as never);
  return z.NEVER;
});

/** A Host header value: a name or IP, optionally with a port (no spaces or control characters). */
const HOST_HEADER = /^(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
/** A request target for health checks: visible ASCII only, as it goes on the request line. */
const REQUEST_PATH = /^\/[\x21-\x7e]*$/;
/**
 * A Redis key prefix: printable and short, as it starts every key and channel name. It may start
 * with a hash tag (`{fleet}:`): on Redis Cluster every key of the fleet then lives in one slot,
 * as the transactions and scripts that touch several of them need.
 */
const REDIS_PREFIX = /^(?=.{1,64}$)(?:\{[A-Za-z0-9_.:-]+\})?[A-Za-z0-9_.:-]*$/;

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

/** A peer is `host:port`, or an object with its `weight` and whether it is a `backup`. */
const peerObject = z.strictObject({
  addr: address,
  /** Its share of requests relative to the pool's other peers. */
  weight: z.int().min(1).max(1000, 'at most 1000').default(1),
  /** Takes requests only while no other peer of the pool is up. */
  backup: z.boolean().default(false),
}).transform((p) => ({ ...p.addr, weight: p.weight, backup: p.backup }));
// Chosen by the input's type, so a problem names the key as written: `peers.0`, `peers.1.weight`.
const peer = z.unknown().transform((value, ctx) => {
  if (typeof value !== 'string' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    ctx.addIssue({ code: 'custom', message: 'must be host:port or { addr, weight, backup }' });
    return z.NEVER;
  }
  const parsed = typeof value === 'string'
    ? address.transform((a) => ({ ...a, weight: 1, backup: false })).safeParse(value)
    : peerObject.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue(issue as never);
  return z.NEVER;
});

/** What `discovery: { dns }` looks up: a name's A/AAAA records with a port, or (`srv:NAME`) its SRV records. */
export type DnsName = { readonly kind: 'address'; readonly name: string; readonly port: number } | { readonly kind: 'srv'; readonly name: string };

const DNS_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9_.])?$/;
const dnsName = z.string().transform(readWith((text: string): DnsName | { error: string } => {
  if (text.startsWith('srv:')) {
    const name = text.slice(4);
    return DNS_NAME.test(name) ? { kind: 'srv', name } : { error: `"${name}" is not a DNS name` };
  }
  const address = parseAddress(text);
  if ('error' in address) return { error: `${address.error}; or srv:NAME for SRV records` };
  if (!DNS_NAME.test(address.host) || /^[\d.]+$/.test(address.host)) return { error: `"${address.host}" is not a DNS name (an address goes in peers)` };
  return { kind: 'address', name: address.host, port: address.port };
}));
const dnsDiscovery = z.strictObject({
  dns: dnsName,
  /** How often the name is looked up again. */
  interval: duration.default(5_000),
  /** Name servers to ask instead of the system's resolver (which also reads /etc/hosts). */
  nameservers: z.array(address).min(1, 'needs at least one host:port').optional(),
}).refine((d) => d.interval > 0, { message: 'must be greater than 0', path: ['interval'] });
// Chosen by the input's type, so a problem names the key as written.
const discovery = z.unknown().transform((value, ctx) => {
  if (value === 'redis') return 'redis' as const;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: 'must be redis or { dns: NAME:PORT, interval }' });
    return z.NEVER;
  }
  const parsed = dnsDiscovery.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue(issue as never);
  return z.NEVER;
});


/** Runs the pool's peer count check even when other keys of the pool are wrong. */
function hasPeers(payload: { value: unknown }): boolean {
  const value = payload.value as { peers?: unknown } | undefined;
  return Array.isArray(value?.peers);
}

/** Passive health: peers failing real requests leave the rotation for a while. */
const outlierDetection = z.strictObject({
  /** Connect errors, timeouts and `failure_statuses` answers in a row that eject a peer. */
  consecutive_failures: z.int().min(1).default(5),
  failure_statuses: z.array(z.int().min(100).max(599)).default([502, 503, 504]),
  /** The first ejection's length; each further ejection of the same peer doubles it. */
  base_ejection_time: duration.default(30_000),
  max_ejection_time: duration.default(300_000),
  /** Never more of the pool's peers ejected at once than this share. */
  max_ejected_percent: z.int().min(0).max(100).default(50),
})
  .refine((o) => o.base_ejection_time > 0, { message: 'must be greater than 0', path: ['base_ejection_time'] })
  .refine((o) => o.max_ejection_time >= o.base_ejection_time, { message: 'must be at least base_ejection_time', path: ['max_ejection_time'] });

const SELECTIONS = ['round_robin', 'least_request', 'ewma', 'random', 'consistent_hash'] as const;
type Selection = (typeof SELECTIONS)[number];

const pool = z.strictObject({
  /** May be empty when `discovery` brings the peers. */
  peers: z.array(peer).default([]),
  selection: z.string().superRefine((name, ctx) => {
    if (!(SELECTIONS as readonly string[]).includes(name)) ctx.addIssue({ code: 'custom', message: `must be one of ${SELECTIONS.join(', ')}` });
  }).transform((name) => name as Selection).default('round_robin'),
  outlier_detection: outlierDetection.optional(),
  /** With no peer up: `fail` answers 503; `panic` sends requests to every configured peer. */
  when_all_down: z.enum(['fail', 'panic']).default('fail'),
  /** What `consistent_hash` hashes: `client_ip`, `path`, `header:NAME` or `cookie:NAME`. */
  hash_key: z.string().default('client_ip').transform(readWith((text: string): HashKey | { error: string } =>
    parseHashKey(text) ?? { error: `"${text}" is not client_ip, path, header:NAME or cookie:NAME` })),
  /** Session affinity by a cookie edgelb sets, naming the peer by an opaque token. */
  sticky: z.strictObject({
    cookie: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/, 'must be a cookie name').default('edgelb_peer'),
    ttl: duration.default(3_600_000),
  }).optional(),
  /** A peer back in rotation ramps from 10% to its full weight over this long; 0: at once. */
  slow_start: duration.default(0),
  /**
   * What sends a request on to the next peer: `connect_failure` (nothing reached the peer, or an
   * idempotent request lost its connection), `timeout` and answer statuses (500-599); the last two
   * for idempotent requests only.
   */
  retry_on: z.array(z.union([z.enum(['connect_failure', 'timeout']), z.int().min(500, 'a status from 500 to 599').max(599, 'a status from 500 to 599')]))
    .default(['connect_failure']),
  /** `redis`: also the peers `edgelb register` announces; `{ dns }`: also those a DNS name answers with. */
  discovery: discovery.optional(),
  /** Host header (and, with TLS, SNI) sent upstream; absent: the client's Host passes through. */
  host: z.string().regex(HOST_HEADER, 'must be a host name or IP, optionally with :port').optional(),
  /** Connect to the peers over TLS, with SNI = `host` (or the peer's name) and verification. */
  tls: z.boolean().default(false),
  /** PEM CA bundle to verify peers against instead of the system store (only with `tls: true`). */
  ca_file: z.string().min(1).optional(),
  /** `false` turns peer certificate verification off; it is never off by default. */
  tls_verify: z.boolean().default(true),
  health_check: healthCheck.default({
    type: 'tcp', interval: 1000, timeout: 1000, rise: 1, fall: 1, path: '/',
  }),
  /** Further peers tried after a connection failure; default: every other peer, at most 3. */
  retries: z.int().min(0).optional(),
  connect_timeout: duration.default(1000),
  /** Longest wait for the response headers, and between two body chunks, before a 504. */
  read_timeout: duration.default(60_000),
  /**
   * How long an idle upstream connection is kept for the next request when its peer does not say
   * (a `Keep-Alive: timeout=` answer is believed instead, less a margin). The default stays under
   * the 5 s after which Node's HTTP servers close idle connections, so a peer never closes one just
   * as a request goes out on it; peers that keep them longer (nginx: 75 s) can be given more.
   */
  keepalive_timeout: duration.default(4_000),
  /**
   * Upstream connections one worker opens to each peer at most. Past it requests wait for a free
   * connection, so no client, however many requests it sends, makes the process run out of file
   * descriptors.
   */
  max_connections_per_peer: z.int().min(1).default(256),
  /** Requests that may wait for a connection to a full peer; past it the next peer is tried, then 503. */
  max_queue_per_peer: z.int().min(0).default(1024),
  /** A WebSocket (or other Upgrade) tunnel with no byte either way for this long is closed; 0: never. */
  tunnel_idle_timeout: duration.default(3_600_000),
})
  .refine((p) => p.peers.length > 0 || p.discovery !== undefined, { message: 'a pool needs at least one peer', path: ['peers'], when: hasPeers })
  .refine((p) => p.keepalive_timeout > 0, { message: 'must be greater than 0', path: ['keepalive_timeout'] })
  .refine((p) => p.tls || p.ca_file === undefined, { message: 'only with tls: true', path: ['ca_file'] })
  .refine((p) => p.tls || p.tls_verify, { message: 'only with tls: true', path: ['tls_verify'] });

const certPair = z.strictObject({ cert: z.string().min(1), key: z.string().min(1) });

/**
 * A TLS listener's certificates: `cert`/`key`, `certs: [{ cert, key }]`, or both. SNI picks among
 * them by the names in the certificates; the first pair (`cert`/`key` when given) is the default.
 * Each pair keeps `at`, its key path inside the listener, so file problems can name it.
 */
const listenerTls = z
  .strictObject({
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    certs: z.array(certPair).min(1, 'needs at least one { cert, key }').optional(),
  })
  .refine((t) => (t.cert === undefined) === (t.key === undefined), { message: 'cert and key go together', path: ['key'] })
  .refine((t) => t.cert !== undefined || t.certs !== undefined, { message: 'needs cert and key, or certs' })
  .transform((t) => ({
    certs: [
      ...(t.cert !== undefined && t.key !== undefined ? [{ cert: t.cert, key: t.key, at: 'tls' }] : []),
      ...(t.certs ?? []).map((pair, i) => ({ ...pair, at: `tls.certs.${i}` })),
    ],
  }));

/** A listener is `host:port`, or an object with TLS (`tls`) and HTTP/2 by ALPN (`h2`). */
const listener = z.preprocess(
  (value) => (typeof value === 'string' ? { addr: value } : value),
  z.strictObject({
    addr: listenAddress,
    tls: listenerTls.optional(),
    h2: z.boolean().default(false),
  })
    .refine((l) => !l.h2 || l.tls !== undefined, { message: 'needs tls (HTTP/2 is offered by ALPN on TLS listeners)', path: ['h2'] })
    .transform((l) => ({ ...l.addr, tls: l.tls, h2: l.h2 })),
);

/**
 * Protection from slow and hostile clients, for every listener. The defaults suit a public
 * listener.
 */
const limits = z.strictObject({
  /** The whole request head must arrive within this (then 408 and the connection is closed). */
  client_header_timeout: duration.default(10_000),
  /** The longest pause between two chunks of a request body (then 408; the upstream request is cancelled). */
  client_body_timeout: duration.default(60_000),
  /** An idle keep-alive client connection is closed after this. */
  client_keepalive_timeout: duration.default(5_000),
  /** A TLS client that has not finished its handshake by then is disconnected. */
  tls_handshake_timeout: duration.default(10_000),
  /** The request line and headers together (then 431). */
  max_header_size: size.default(16 * 1024),
  /** Header fields in a request (then 431). */
  max_headers: z.int().min(1).max(2_000, 'at most 2000').default(100),
  /** The request target (then 414). */
  max_uri_length: size.default(8 * 1024),
  /** 0: no limit; else a larger request body gets 413, and nothing past the limit goes upstream. */
  max_body_size: size.default(0),
  /** Client connections one worker serves at once; past it new ones wait, unread (see README). */
  max_connections: z.int().min(1).default(10_000),
})
  .refine((l) => l.client_header_timeout > 0, { message: 'must be greater than 0', path: ['client_header_timeout'] })
  .refine((l) => l.client_body_timeout > 0, { message: 'must be greater than 0', path: ['client_body_timeout'] })
  .refine((l) => l.client_keepalive_timeout > 0, { message: 'must be greater than 0', path: ['client_keepalive_timeout'] })
  .refine((l) => l.tls_handshake_timeout > 0, { message: 'must be greater than 0', path: ['tls_handshake_timeout'] })
  .refine((l) => l.max_header_size >= 1024, { message: 'must be at least 1k', path: ['max_header_size'] })
  .refine((l) => l.max_uri_length >= 16, { message: 'must be at least 16', path: ['max_uri_length'] });

/** A route's `match.host`: a name or IP, or `*.` and a name; no port (the port is ignored). */
const HOST_PATTERN = /^(?:\*\.)?[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?$|^\[[0-9A-Fa-f:.]+\]$/;
/** An HTTP method or header name: an RFC 9110 token. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Route names become metric labels and log fields. */
const ROUTE_NAME = /^[A-Za-z0-9_.:\/*-]{1,128}$/;

const routeMatch = z.strictObject({
  host: z.string().regex(HOST_PATTERN, 'must be a host name, "*." and a host name, or an IP (no port)').optional(),
  /** A path prefix, matched by whole segments; the longest wins. */
  path: z.string().regex(REQUEST_PATH, 'must start with "/" and contain no spaces or control characters')
    .refine((path) => !/[?#]/.test(path), 'is a path prefix: no "?" or "#"')
    .default('/'),
  methods: z.array(z.string().regex(TOKEN, 'must be an HTTP method').transform((m) => m.toUpperCase())).min(1, 'needs at least one method').optional(),
  /** Header values the request must carry, exactly. */
  headers: z.record(z.string().regex(TOKEN, 'must be a header name').transform((n) => n.toLowerCase()), z.string()).optional(),
});

const route = z.strictObject({
  /** Names the route in logs, metrics and `/status`; default: its host and path. */
  name: z.string().regex(ROUTE_NAME, 'letters, digits and "_.:/*-", 1-128 characters').optional(),
  match: routeMatch.default({ path: '/' }),
  pool: z.string().min(1),
  /** Forward `/v1/users` as `/users` when the route's path is `/v1`. */
  strip_prefix: z.boolean().default(false),
  /** Host header (and, with TLS, SNI) sent upstream on this route; overrides the pool's `host`. */
  host: z.string().regex(HOST_HEADER, 'must be a host name or IP, optionally with :port').optional(),
  /** Lower than `limits.max_body_size` for this route's requests (0: the global limit alone). */
  max_body_size: size.default(0),
});

/** The admin listener (metrics, status, dashboard, draining); off unless configured. */
const admin = z
  .strictObject({
    listen: listenAddress,
    /** Sent by clients as `Authorization: Bearer TOKEN`. */
    token: z.string().regex(/^[\x21-\x7e]{16,}$/, 'must be at least 16 visible ASCII characters, no spaces').optional(),
  })
  .refine((settings) => settings.token !== undefined || isLoopback(settings.listen.host), {
    message: 'required when admin.listen is not a loopback address (127.0.0.1, ::1, localhost)',
    path: ['token'],
  });

export const configSchema = z.strictObject({
  version: z.literal(1, 'only version 1 exists').default(1),
  threads: z.int().min(1).default(1),
  /** Same as `-d`: run in the background. */
  daemon: z.boolean().default(false),
  pid_file: z.string().min(1).default('/tmp/edgelb.pid'),
  error_log: z.string().min(1).optional(),
  upgrade_sock: z.string().min(1).default('/tmp/edgelb.sock'),
  grace_period_seconds: z.number().nonnegative().max(MAX_DURATION_MS / 1000, 'at most 24 days').default(30),
  listen: z.array(listener).min(1, 'needs at least one address').default([{ host: '0.0.0.0', port: 8080, tls: undefined, h2: false }]),
  limits: limits.default({
    client_header_timeout: 10_000, client_body_timeout: 60_000, client_keepalive_timeout: 5_000, tls_handshake_timeout: 10_000,
    max_header_size: 16 * 1024, max_headers: 100, max_uri_length: 8 * 1024, max_body_size: 0, max_connections: 10_000,
  }),
  /** Absent: every request goes to the first pool. */
  routes: z.array(route).min(1, 'needs at least one route (or leave routes out)').optional(),
  upstreams: z
    .record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'pool names use letters, digits, "_", "." and "-"'), pool, 'required: a map of pools, each with peers')
    .refine((pools) => Object.keys(pools).length > 0, 'needs at least one pool'),
  /** `json`: a JSON object per line; `combined`: nginx's combined format, for the tools that read it. */
  access_log_format: z.enum(['json', 'combined']).default('json'),
  /** The JSON lines' `time`: milliseconds since the epoch, or an ISO-8601 date. */
  access_log_time: z.enum(['epoch_ms', 'iso8601']).default('epoch_ms'),
  /** One JSON line per request: `true` on stdout, a file path, or `false` for none. */
  access_log: z.union([z.boolean(), z.string().min(1)]).default(true),
  admin: admin.optional(),
  /** The shared health store; absent: embedded mode (in-memory store, prober in this process). */
  redis: redis.optional(),
  /** Prefix of every Redis key and channel, so several fleets can share one Redis. */
  redis_prefix: z.string().regex(REDIS_PREFIX, 'letters, digits and "_.:-", 1-64 characters, optionally starting with a {hash tag}').default('edgelb:'),
})
  .superRefine((config, ctx) => {
    const names = new Map<string, number>();
    config.routes?.forEach((r, index) => {
      if (!Object.hasOwn(config.upstreams, r.pool)) ctx.addIssue({ code: 'custom', path: ['routes', index, 'pool'], message: `no pool "${r.pool}"` });
      const name = r.name;
      if (name === undefined) return;
      const first = names.get(name);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['routes', index, 'name'], message: `"${name}" is already the name of routes.${first}` });
      else names.set(name, index);
    });
  })
  .superRefine((config, ctx) => {
    for (const [name, pool] of Object.entries(config.upstreams)) {
      if (pool.discovery === 'redis' && config.redis === undefined) {
        ctx.addIssue({ code: 'custom', path: ['upstreams', name, 'discovery'], message: 'needs redis: the registrations live in the shared store' });
      }
    }
  });

export type Config = z.output<typeof configSchema>;

/** A peer given at run time (the admin API), checked as a `peers` entry of the config is. */
export function parsePeerSpec(value: unknown): PeerSpec | { error: string } {
  const result = peer.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const at = issue.path.map(String).join('.');
  return { error: at ? `${at}: ${issue.message}` : issue.message };
}
export type PoolConfig = Config['upstreams'][string];
export type ListenerConfig = Config['listen'][number];
export type LimitsConfig = Config['limits'];
export type OutlierDetectionConfig = NonNullable<PoolConfig['outlier_detection']>;
export type RouteConfig = NonNullable<Config['routes']>[number];
export type CertPairConfig = NonNullable<ListenerConfig['tls']>['certs'][number];

/** One line per problem, each naming the key path and the reason. */
export function validateConfig(input: unknown): { config: Config } | { problems: string[] } {
  const result = configSchema.safeParse(input ?? {});
  if (result.success) return { config: result.data };
  const problems: string[] = [];
  for (const issue of result.error.issues) {
    const at = issue.path.map(keySegment).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push(`${at ? `${at}.` : ''}${keySegment(key)}: unknown key`);
    } else {
      problems.push(`${at || '(top level)'}: ${issue.message}`);
    }
  }
  return { problems };
}

/** A key as a problem line names it: plain when it is a plain name, quoted otherwise (`"a b"`). */
function keySegment(key: PropertyKey): string {
  const text = String(key);
  return /^[A-Za-z0-9_*:-]+$/.test(text) ? text : JSON.stringify(text);
}
