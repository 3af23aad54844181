/**
 * The configurations of bench/balancing.ts: edgelb with each selection, nginx and HAProxy with
 * round robin and with their least-connections balancing plus passive health. nginx's and
 * HAProxy's round-robin variants are the rig's own (bench/rig/nginx.ts, bench/rig/haproxy.ts:
 * upstream keep-alive, one worker or thread); the least-connections variants are those with the
 * lines below changed, so that nothing else differs between the two. Two references that balance
 * nothing bound what any proxy could reach: the load generator straight to one healthy peer, and
 * the least a Node proxy does (bench/baselines/bare-undici.ts).
 */
import { haproxyConfig } from '../rig/haproxy.ts';
import { proxyConfig } from '../rig/nginx.ts';

/** `node`: bench/baselines/bare-undici.ts; `direct`: no proxy, the generator sends to peer a. */
export type Kind = 'edgelb' | 'nginx' | 'haproxy' | 'node' | 'direct';

export interface SystemSpec {
  id: string;
  kind: Kind;
  label: string;
  /** What was set, as shown in the report. */
  settings: string;
  /** Not a balancer: shown for what it bounds, left out of the rankings. */
  reference?: boolean;
}

export const OUTLIER_DETECTION = '{ consecutive_failures: 3, failure_statuses: [500], base_ejection_time: 5s }';

export const RETRY_ON = '[connect_failure, 500]';

export interface EdgelbVariant {
  selection: string;
  outliers: boolean;
  /** `retry_on: [connect_failure, 500]`, like nginx's `proxy_next_upstream ... http_500`. */
  retry: boolean;
}

export function edgelbConfig(port: number, peers: readonly number[], dir: string, { selection, outliers, retry }: EdgelbVariant): string {
  return `version: 1
threads: 1
listen: ["127.0.0.1:${port}"]
access_log: false
pid_file: ${dir}/edgelb.pid
upgrade_sock: ${dir}/edgelb.sock
upstreams:
  default:
    peers: [${peers.map((p) => `"127.0.0.1:${p}"`).join(', ')}]
    selection: ${selection}
${outliers ? `    outlier_detection: ${OUTLIER_DETECTION}\n` : ''}${retry ? `    retry_on: ${RETRY_ON}\n` : ''}`;
}

/** The lines that turn the rig's nginx round robin into least_conn with passive health. */
export const NGINX_LEAST_CONN = {
  upstream: 'least_conn;',
  server: 'max_fails=3 fail_timeout=5s',
  location: 'proxy_next_upstream error timeout http_500;',
};

function replaceOnce(text: string, from: string | RegExp, to: string, what: string): string {
  const next = text.replace(from, to);
  if (next === text) throw new Error(`config template changed: no ${what} to replace`);
  return next;
}

export function nginxConfig(dir: string, port: number, peers: readonly number[], leastConn: boolean): string {
  const base = proxyConfig(dir, port, peers, true);
  if (!leastConn) return base;
  let config = base;
  for (const peer of peers) {
    config = replaceOnce(config, `server 127.0.0.1:${peer};`, `server 127.0.0.1:${peer} ${NGINX_LEAST_CONN.server};`, `server ${peer}`);
  }
  // The balancing method goes before `keepalive` (nginx's documented order).
  config = replaceOnce(config, '    keepalive 64;', `    ${NGINX_LEAST_CONN.upstream}\n    keepalive 64;`, 'keepalive line');
  config = replaceOnce(config, '      proxy_pass http://backends;', `      proxy_pass http://backends;\n      ${NGINX_LEAST_CONN.location}`, 'proxy_pass line');
  return config;
}

/** What turns the rig's HAProxy round robin into leastconn with passive health. */
export const HAPROXY_LEAST_CONN = {
  balance: 'balance leastconn',
  server: 'check inter 2s fall 3 rise 2 observe layer7 error-limit 3 on-error mark-down',
};

export function haproxyBalancingConfig(port: number, peers: readonly number[], leastConn: boolean): string {
  const base = haproxyConfig(port, peers);
  if (!leastConn) return base;
  let config = replaceOnce(base, 'balance roundrobin', HAPROXY_LEAST_CONN.balance, 'balance line');
  config = replaceOnce(config, /^( {2}server s\d+ 127\.0\.0\.1:\d+)$/gm, `$1 ${HAPROXY_LEAST_CONN.server}`, 'server lines');
  return config;
}

export const SYSTEMS: readonly SystemSpec[] = [
  { id: 'edgelb-rr', kind: 'edgelb', label: 'edgelb round_robin', settings: '`selection: round_robin`' },
  { id: 'nginx-rr', kind: 'nginx', label: 'nginx round robin', settings: 'default round robin (`max_fails=1 fail_timeout=10s`, `proxy_next_upstream error timeout`, both defaults)' },
  { id: 'haproxy-rr', kind: 'haproxy', label: 'HAProxy roundrobin', settings: '`balance roundrobin`, no checks' },
  { id: 'edgelb-lr', kind: 'edgelb', label: 'edgelb least_request', settings: '`selection: least_request`' },
  { id: 'nginx-lc', kind: 'nginx', label: 'nginx least_conn + max_fails', settings: `\`${NGINX_LEAST_CONN.upstream}\`, each server \`${NGINX_LEAST_CONN.server}\`, \`${NGINX_LEAST_CONN.location}\`` },
  { id: 'haproxy-lc', kind: 'haproxy', label: 'HAProxy leastconn + observe', settings: `\`${HAPROXY_LEAST_CONN.balance}\`, each server \`${HAPROXY_LEAST_CONN.server}\`` },
  { id: 'edgelb-lr-od', kind: 'edgelb', label: 'edgelb least_request + outlier_detection', settings: `\`selection: least_request\`, \`outlier_detection: ${OUTLIER_DETECTION}\`` },
  { id: 'edgelb-random', kind: 'edgelb', label: 'edgelb random', settings: '`selection: random`' },
  { id: 'edgelb-ewma', kind: 'edgelb', label: 'edgelb ewma', settings: '`selection: ewma`' },
  {
    id: 'edgelb-lr-od-retry', kind: 'edgelb', label: 'edgelb least_request + outlier_detection + retry_on 500',
    settings: `\`selection: least_request\`, \`outlier_detection: ${OUTLIER_DETECTION}\`, \`retry_on: ${RETRY_ON}\``,
  },
  {
    id: 'edgelb-ewma-od-retry', kind: 'edgelb', label: 'edgelb ewma + outlier_detection + retry_on 500',
    settings: `\`selection: ewma\`, \`outlier_detection: ${OUTLIER_DETECTION}\`, \`retry_on: ${RETRY_ON}\``,
  },
  {
    id: 'bare-node', kind: 'node', label: 'bare node:http + undici (reference)',
    settings: '`bench/baselines/bare-undici.ts`: round robin, no health, no header rules', reference: true,
  },
  { id: 'direct', kind: 'direct', label: 'no proxy, straight to peer a (reference)', settings: 'the generator sends to peer a', reference: true },
];

export function systemOf(id: string): SystemSpec {
  const spec = SYSTEMS.find((s) => s.id === id);
  if (spec === undefined) throw new Error(`not a system: ${id}`);
  return spec;
}

export function edgelbVariant(id: string): EdgelbVariant {
  switch (id) {
    case 'edgelb-rr': return { selection: 'round_robin', outliers: false, retry: false };
    case 'edgelb-lr': return { selection: 'least_request', outliers: false, retry: false };
    case 'edgelb-lr-od': return { selection: 'least_request', outliers: true, retry: false };
    case 'edgelb-random': return { selection: 'random', outliers: false, retry: false };
    case 'edgelb-ewma': return { selection: 'ewma', outliers: false, retry: false };
    case 'edgelb-lr-od-retry': return { selection: 'least_request', outliers: true, retry: true };
    case 'edgelb-ewma-od-retry': return { selection: 'ewma', outliers: true, retry: true };
    default: throw new Error(`not an edgelb system: ${id}`);
  }
}
