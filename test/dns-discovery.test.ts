import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { validateConfig } from '../src/core/config.ts';
import { startDnsServer, type DnsServer } from './support/dnsmasq.ts';
import { startLoad, type LoadResult } from './support/load.ts';
import { freePort } from './support/ports.ts';
import { killAll, startEdgelb, startUpstream } from './support/processes.ts';
import { waitForLog } from './support/shared-health.ts';
import { waitFor } from './support/wait-for.ts';

/** Answers in `live` from `name` that arrived after `since` (ms since the epoch). */
const answeredSince = (live: LoadResult, name: string, since: number) =>
  live.answers.filter((x) => x.name === name && performance.timeOrigin + x.at > since).length;

describe('DNS discovery', () => {
  let dns: DnsServer | undefined;
  afterEach(async () => {
    killAll();
    await dns?.kill();
    dns = undefined;
  });
  after(killAll);

  it('follows A records as they are added and removed, with two workers, and keeps the last answer while DNS fails', async () => {
    const port = await freePort();
    const [two, three, four] = await Promise.all(['127.0.0.2', '127.0.0.3', '127.0.0.4'].map((host) => startUpstream(host, port, host)));
    dns = await startDnsServer([['127.0.0.2', 'app.test'], ['127.0.0.3', 'app.test']]);
    const edge = await startEdgelb({
      threads: 2,
      access_log: false,
      upstreams: {
        web: {
          discovery: { dns: `app.test:${port}`, interval: '300ms', nameservers: [dns.address] },
          retries: 0,
          health_check: { interval: '300ms', timeout: '200ms' },
        },
      },
    });
    const { live, stop: stopLoad } = startLoad(edge.url, 4, 60_000);
    const started = Date.now();
    await waitFor('both answers to take traffic', () => answeredSince(live, '127.0.0.2', started) > 0 && answeredSince(live, '127.0.0.3', started) > 0);

    await dns.setHosts([['127.0.0.3', 'app.test'], ['127.0.0.4', 'app.test']]);
    await waitForLog(edge, 'peer left', { peer: two!.address, source: 'dns' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const twoRequests = (await two!.stats()).requests;
    const changed = Date.now();
    await waitFor('the new answer to take traffic', () => answeredSince(live, '127.0.0.4', changed) > 20, { timeoutMs: 10_000 });
    assert.equal((await two!.stats()).requests, twoRequests, 'no request reached the address DNS dropped');

    await dns.kill();
    const killed = Date.now();
    await waitForLog(edge, 'dns lookup failed; keeping the last answer', {}, killed);
    // Several intervals without DNS: the last answer stays in rotation.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.ok(answeredSince(live, '127.0.0.3', killed + 1_000) > 0 && answeredSince(live, '127.0.0.4', killed + 1_000) > 0);
    assert.deepEqual((await stopLoad()).failures, []);
    assert.ok((await three!.stats()).requests > 0 && (await four!.stats()).requests > 0);
  });

  it('follows SRV records: their ports and weights, and a higher priority as backup', async () => {
    const [a, b] = await Promise.all([startUpstream('a'), startUpstream('b')]);
    dns = await startDnsServer([['127.0.0.1', 'a.test'], ['127.0.0.1', 'b.test']], [
      `_http._tcp.app.test,a.test,${a.port},0,5`,
      `_http._tcp.app.test,b.test,${b.port},1,5`,
    ]);
    const edge = await startEdgelb({
      access_log: false,
      upstreams: { web: { discovery: { dns: 'srv:_http._tcp.app.test', interval: '300ms', nameservers: [dns.address] }, health_check: { interval: '300ms', timeout: '200ms' } } },
    });
    await waitForLog(edge, 'peer joined', { peer: b.address, source: 'dns' });
    const names = async () => {
      const seen: string[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await fetch(edge.url);
        await res.text();
        seen.push(res.status === 200 ? res.headers.get('x-upstream')! : String(res.status));
      }
      return seen.join();
    };
    await waitFor('a (priority 0) to take every request', async () => (await names()) === 'a,a,a,a');
    await a.kill();
    await waitFor('the backup to take over', async () => (await names()) === 'b,b,b,b', { timeoutMs: 10_000 });
  });

  it('checks the discovery key like the rest of the config', () => {
    const problems = (discovery: unknown) => {
      const result = validateConfig({ upstreams: { web: { discovery } } });
      return 'problems' in result ? result.problems : [];
    };
    assert.deepEqual(problems({ dns: 'app.test' }), ['upstreams.web.discovery.dns: "app.test" is not host:port (IPv6 as [::1]:8080); or srv:NAME for SRV records']);
    assert.deepEqual(problems({ dns: '10.0.0.1:80' }), ['upstreams.web.discovery.dns: "10.0.0.1" is not a DNS name (an address goes in peers)']);
    assert.deepEqual(problems({ dns: 'app.test:80', interval: 0 }), ['upstreams.web.discovery.interval: must be greater than 0']);
    assert.deepEqual(problems({ dns: 'app.test:80', every: '1s' }), ['upstreams.web.discovery.every: unknown key']);
    assert.deepEqual(problems('consul'), ['upstreams.web.discovery: must be redis or { dns: NAME:PORT, interval }']);
    assert.deepEqual(problems({ dns: 'srv:_http._tcp.app.test' }), []);
  });
});
