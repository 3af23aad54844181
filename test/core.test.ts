import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAddress } from '../src/core/address.ts';
import { validateConfig } from '../src/core/config.ts';
import { parseDuration } from '../src/core/duration.ts';
import { parseSize } from '../src/core/size.ts';
import { HealthThreshold } from '../src/core/health.ts';
import { buildPools } from '../src/core/peer.ts';
import { RoundRobin } from '../src/core/selection/round-robin.ts';
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../src/edge/headers.ts';

function pool(peers: string[]) {
  const result = validateConfig({ upstreams: { p: { peers } } });
  assert.ok('config' in result);
  return buildPools(result.config.upstreams)[0]!;
}

describe('round robin', () => {
  it('starts one peer further each time and offers the rest, wrapping, as fallbacks', () => {
    const { peers } = pool(['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3']);
    const rr = new RoundRobin(peers);
    const all = () => true;
    const ids = (list: Iterable<{ id: string }>) => [...list].map((p) => p.id.split(':')[1]).join('');
    assert.deepEqual([ids(rr.candidates(undefined, all)), ids(rr.candidates(undefined, all)), ids(rr.candidates(undefined, all)), ids(rr.candidates(undefined, all))],
      ['123', '231', '312', '123']);
    assert.deepEqual([...new RoundRobin([]).candidates(undefined, all)], []);
  });

  it('rotates over the accepted peers only, so a peer left out hands its turns to all others evenly', () => {
    const { peers } = pool(['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3', '127.0.0.1:4']);
    const rr = new RoundRobin(peers);
    const notTwo = (peer: { id: string }) => !peer.id.endsWith(':2');
    const ids = (list: Iterable<{ id: string }>) => [...list].map((p) => p.id.split(':')[1]).join('');
    assert.deepEqual([1, 2, 3, 4].map(() => ids(rr.candidates(undefined, notTwo))), ['134', '341', '413', '134']);
    assert.deepEqual([...rr.candidates(undefined, () => false)], []);
  });
});

describe('health thresholds', () => {
  it('lets the first check decide, then needs `fall` failures and `rise` passes in a row', () => {
    const t = new HealthThreshold(2, 3);
    assert.deepEqual(t.observe(true), { up: true, changed: true });
    assert.deepEqual([t.observe(false), t.observe(false)].map((r) => r.up), [true, true]);
    assert.deepEqual(t.observe(true), { up: true, changed: false }, 'a pass resets the failure streak');
    t.observe(false);
    t.observe(false);
    assert.deepEqual(t.observe(false), { up: false, changed: true });
    assert.deepEqual(t.observe(true), { up: false, changed: false });
    assert.deepEqual(t.observe(true), { up: true, changed: true });
  });
});

describe('config values', () => {
  it('parses durations and addresses, and explains what it rejects', () => {
    assert.deepEqual(parseDuration('1s'), { ms: 1000 });
    assert.deepEqual(parseDuration('250ms'), { ms: 250 });
    assert.deepEqual(parseDuration(2), { ms: 2000 });
    assert.match((parseDuration('soon') as { error: string }).error, /not a duration/);
    assert.deepEqual(parseAddress('[::1]:8080'), { host: '::1', port: 8080 });
    assert.match((parseAddress('127.0.0.1:99999') as { error: string }).error, /port/);
  });

  it('names the key path of every problem', () => {
    const result = validateConfig({
      listen: ['nowhere'],
      upstreams: { web: { peers: [], health_check: { interval: 'often', timeuot: '1s' } } },
      trheads: 2,
    });
    assert.ok('problems' in result);
    assert.deepEqual(result.problems.sort(), [
      'listen.0.addr: "nowhere" is not host:port (IPv6 as [::1]:8080)',
      'trheads: unknown key',
      'upstreams.web.health_check.interval: "often" is not a duration (use e.g. "1s", "500ms", "2m")',
      'upstreams.web.health_check.timeuot: unknown key',
      'upstreams.web.peers: a pool needs at least one peer',
    ]);
  });
});

describe('header rules', () => {
  const facts = { clientIp: '192.0.2.7', proto: 'http' as const, rewriteHost: undefined, targetAuthority: undefined };
  const toMap = (raw: string[]) => {
    const map = new Map<string, string>();
    for (let i = 0; i < raw.length; i += 2) map.set(raw[i]!.toLowerCase(), raw[i + 1]!);
    return map;
  };

  it('strips hop-by-hop headers upstream and sets the forwarding headers', () => {
    const out = toMap(upstreamRequestHeaders([
      'Host', 'shop.example', 'Connection', 'keep-alive, X-Private', 'X-Private', 'x', 'Keep-Alive', '5',
      'TE', 'trailers', 'Transfer-Encoding', 'chunked', 'X-Forwarded-For', '198.51.100.1', 'Via', '1.0 cdn',
      'Accept-Encoding', 'gzip', 'Expect', '100-continue', 'Proxy', 'http://attacker.example',
    ], facts));
    assert.deepEqual(Object.fromEntries(out), {
      'accept-encoding': 'gzip',
      host: 'shop.example',
      'x-forwarded-for': '198.51.100.1, 192.0.2.7',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'shop.example',
      via: '1.0 cdn, 1.1 edgelb',
    });
  });

  it('rewrites Host when the pool names one, and prefers an absolute-form target to the Host header', () => {
    assert.equal(toMap(upstreamRequestHeaders(['Host', 'a'], { ...facts, rewriteHost: 'example.com' })).get('host'), 'example.com');
    const absolute = toMap(upstreamRequestHeaders(['Host', 'a'], { ...facts, targetAuthority: 'b.example' }));
    assert.equal(absolute.get('host'), 'b.example');
    assert.equal(absolute.get('x-forwarded-host'), 'b.example');
    assert.equal(toMap(upstreamRequestHeaders([], facts)).has('host'), false, 'no Host: the HTTP client names the peer');
  });

  it('refuses a request with two Host headers', () => {
    assert.throws(() => upstreamRequestHeaders(['Host', 'a', 'host', 'b'], facts), /more than one Host/);
  });

  it('strips hop-by-hop headers from responses and keeps the rest', () => {
    const out = downstreamResponseHeaders({
      connection: 'close, X-Upstream-Only', 'x-upstream-only': '1', 'keep-alive': 'timeout=5',
      'content-encoding': 'gzip', 'set-cookie': ['a=1', 'b=2'], via: '1.1 origin',
    });
    assert.deepEqual(out, ['content-encoding', 'gzip', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'via', '1.1 origin, 1.1 edgelb']);
  });
});

describe('sizes and limits in the config', () => {
  it('reads 16k, 10m, 1g and bytes, and names the key of a bad one', () => {
    assert.deepEqual(['16k', '10M', '1g', '512', 0, '2kb'].map((value) => parseSize(value)), [
      { bytes: 16384 }, { bytes: 10485760 }, { bytes: 1073741824 }, { bytes: 512 }, { bytes: 0 }, { bytes: 2048 },
    ]);
    const result = validateConfig({ upstreams: { p: { peers: ['127.0.0.1:1'] } }, limits: { max_body_size: 'lots', max_headers: 0, max_connections: 0 } });
    assert.ok('problems' in result);
    assert.deepEqual(result.problems, [
      'limits.max_headers: Too small: expected number to be >=1',
      'limits.max_body_size: "lots" is not a size (use e.g. "16k", "10m", "1g" or bytes)',
      'limits.max_connections: Too small: expected number to be >=1',
    ]);
  });
});
