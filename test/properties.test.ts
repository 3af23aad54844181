import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseConfigText } from '../src/core/config-text.ts';
import { ConfigError, ProxyError } from '../src/core/errors.ts';
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../src/edge/headers.ts';

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Header names as clients send them: hop-by-hop ones in any case, ones a proxy sets, and others. */
const headerName = fc.oneof(
  fc.constantFrom(...HOP_BY_HOP, 'Connection', 'Keep-Alive', 'TE', 'Upgrade', 'X-Forwarded-For', 'X-Forwarded-Proto', 'X-Forwarded-Host', 'Via', 'Expect', 'Proxy', 'Cookie'),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/),
);
/** Field values: visible ASCII and spaces, as Node's parser lets through (no CR, LF or NUL). */
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,24}$/).map((value) => value.trim());

/** A raw header list, sometimes with a Connection header naming some of the other fields. */
const rawHeaders = fc.array(fc.tuple(headerName, headerValue), { maxLength: 16 }).chain((pairs) =>
  fc.subarray(pairs.map(([name]) => name)).map((named) => {
    const raw = pairs.flat();
    if (named.length > 0) raw.push('Connection', named.join(', '));
    return raw;
  }));

function names(flat: readonly string[]): string[] {
  return flat.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
}

describe('header rules (property-based)', () => {
  it('never forward a hop-by-hop header, nor one the client\'s Connection names, and produce only valid fields', () => {
    fc.assert(fc.property(rawHeaders, fc.option(fc.constantFrom('api.internal', 'example.com:8080'), { nil: undefined }), (raw, rewriteHost) => {
      let out: string[];
      try {
        out = upstreamRequestHeaders(raw, { clientIp: '192.0.2.1', proto: 'https', rewriteHost, targetAuthority: undefined });
      } catch (error) {
        // The one refusal: two Host headers (they could be read differently upstream).
        assert.ok(error instanceof ProxyError && error.kind === 'bad_request');
        assert.ok(names(raw).filter((name) => name === 'host').length > 1);
        return;
      }
      const sent = names(out);
      const listed = new Set(raw.flatMap((value, i) => (i % 2 === 1 && raw[i - 1]!.toLowerCase() === 'connection'
        ? value.split(',').map((token) => token.trim().toLowerCase()) : [])));
      for (const name of sent) {
        assert.ok(!HOP_BY_HOP.includes(name), `${name} is hop-by-hop`);
        assert.ok(!listed.has(name) || ['host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'via', 'cookie'].includes(name), `${name} was named by Connection`);
        assert.match(name, TOKEN);
      }
      for (let i = 1; i < out.length; i += 2) assert.doesNotMatch(out[i]!, /[\r\n\0]/);
      assert.ok(sent.filter((name) => name === 'host').length <= 1, 'at most one Host');
      if (rewriteHost !== undefined) assert.equal(out[out.indexOf('host') + 1], rewriteHost);
      for (const set of ['x-forwarded-proto', 'x-forwarded-for', 'via']) assert.equal(sent.filter((name) => name === set).length, 1, `one ${set}`);
      assert.match(out[out.indexOf('x-forwarded-for') + 1]!, /(^|, )192\.0\.2\.1$/, 'the client address comes last');
      assert.ok(!sent.includes('expect') && !sent.includes('proxy'));
    }), { numRuns: 2_000 });
  });

  it('never send a hop-by-hop header back to the client', () => {
    const responseHeaders = fc.dictionary(headerName.map((name) => name.toLowerCase()), fc.oneof(headerValue, fc.array(headerValue, { minLength: 1, maxLength: 3 })), { maxKeys: 12 });
    fc.assert(fc.property(responseHeaders, (headers) => {
      const out = downstreamResponseHeaders(headers);
      const listed = new Set(String(headers.connection ?? '').split(',').map((token) => token.trim().toLowerCase()));
      for (const name of names(out)) {
        assert.ok(!HOP_BY_HOP.includes(name), `${name} is hop-by-hop`);
        assert.ok(!listed.has(name) || name === 'via', `${name} was named by Connection`);
      }
      assert.equal(names(out).filter((name) => name === 'via').length, 1);
    }), { numRuns: 2_000 });
  });
});

/** A valid config to start from; every mutation below breaks or changes one part of it. */
const VALID = {
  listen: ['127.0.0.1:8080', { addr: '127.0.0.1:8443', tls: { cert: 'a.crt', key: 'a.key' }, h2: true }],
  limits: { client_header_timeout: '10s', max_body_size: '1m' },
  routes: [{ match: { host: 'api.example.com', path: '/v1' }, pool: 'api', strip_prefix: true }, { pool: 'web' }],
  upstreams: {
    web: { peers: ['10.0.0.1:80', '10.0.0.2:80'], health_check: { interval: '1s' }, retries: 1 },
    api: { peers: ['10.0.1.1:80'], read_timeout: '30s' },
  },
  access_log: false,
};

/** Paths into VALID (as key lists) and the junk to put there. */
const paths: string[][] = [];
(function walk(value: unknown, at: string[]): void {
  paths.push(at);
  if (value !== null && typeof value === 'object') for (const [key, child] of Object.entries(value)) walk(child, [...at, key]);
})(VALID, []);
const junk = fc.oneof(
  fc.constant(null), fc.boolean(), fc.integer({ min: -5, max: 100_000 }), fc.double({ noNaN: false }),
  fc.string({ maxLength: 12 }), fc.constantFrom('1s', '16k', '', 'x:y', '999999:1', '*.', '/'),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }), fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.string({ maxLength: 4 }), { maxKeys: 3 }),
);

function mutated(changes: Array<[string[], unknown, boolean]>): unknown {
  const copy = structuredClone(VALID) as Record<string, unknown>;
  for (const [path, value, asNewKey] of changes) {
    if (path.length === 0) continue;
    let node = copy as Record<string, unknown>;
    for (const key of path.slice(0, -1)) {
      if (node[key] === null || typeof node[key] !== 'object') break;
      node = node[key] as Record<string, unknown>;
    }
    node[asNewKey ? `${path.at(-1)}_x` : path.at(-1)!] = value;
  }
  return copy;
}

describe('config errors (property-based)', () => {
  it('answer every broken config with one line per problem, naming the file and the key, never a stack trace', () => {
    const change = fc.tuple(fc.constantFrom(...paths), junk, fc.boolean());
    fc.assert(fc.property(fc.array(change, { minLength: 1, maxLength: 4 }), (changes) => {
      const text = stringify(mutated(changes));
      try {
        parseConfigText(text, 'edgelb.yaml');
      } catch (error) {
        assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
        const [first, ...lines] = error.message.split('\n');
        assert.equal(first, 'edgelb.yaml: invalid config');
        assert.ok(lines.length > 0 && lines.length === error.problems.length);
        for (const line of lines) {
          assert.match(line, /^ {2}(\(top level\)|(?:[A-Za-z0-9_*:-]+|"(?:[^"\\]|\\.)*")(?:\.(?:[A-Za-z0-9_*:-]+|"(?:[^"\\]|\\.)*"))*): \S/, `names a key: ${line}`);
          assert.doesNotMatch(line, /\n|^\s+at /);
        }
      }
    }), { numRuns: 1_000 });
  });
});
