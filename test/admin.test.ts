import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { adminGet, adminUrl, promtoolProblems, sample } from './support/admin.ts';
import { killAll, runEdgelb, startEdgelb, startUpstream } from './support/processes.ts';
import { client } from './support/http.ts';
import { waitFor } from './support/wait-for.ts';

const TOKEN = 'test-token-0123456789abcdef';

interface StatusPeer {
  id: string;
  state: string;
  healthy: boolean;
  drained: boolean;
  since: string | null;
  checkedAt: string | null;
  latencyMs: number | null;
  reason: string | null;
  inFlight: number;
  requests: number;
}
interface Status {
  time: string;
  pools: Array<{ name: string; peers: StatusPeer[] }>;
}

describe('admin listener', () => {
  afterEach(killAll);
  after(killAll);

  it("proxies HEAD next to the admin app: the peer's status and headers, or the error's, and no body", async () => {
    const [live, doomed] = await Promise.all([startUpstream('live'), startUpstream('doomed')]);
    const [lb, failing] = await Promise.all([
      startEdgelb({ access_log: false, admin: { listen: '127.0.0.1:0' }, upstreams: { web: { peers: [live.address] } } }),
      // Checked once at start (up), then not again for a minute: the peer dies unnoticed.
      startEdgelb({ access_log: false, admin: { listen: '127.0.0.1:0' }, upstreams: { web: { peers: [doomed.address], health_check: { interval: '60s' } } } }),
    ]);
    // The admin listener is up in the same process before the first HEAD.
    assert.equal((await adminGet(`${adminUrl(lb)}/status`)).status, 200);
    for (let i = 0; i < 3; i++) {
      const res = await request(lb.url, { method: 'HEAD', dispatcher: client });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-upstream'], 'live');
      assert.equal(res.headers['content-type'], 'application/json');
      assert.equal(await res.body.text(), '');
    }
    assert.ok(!lb.logs.some((line) => line.msg === 'request failed'), 'no HEAD was logged as failed');

    await doomed.kill();
    const failed = await request(failing.url, { method: 'HEAD', dispatcher: client });
    assert.equal(failed.statusCode, 502);
    assert.ok(Number(failed.headers['content-length']) > 0, 'the reply says how long its body would be');
    assert.equal(await failed.body.text(), '');
    // The connection stays usable: the reply's head did not promise a body it did not send.
    const again = await request(failing.url, { method: 'HEAD', dispatcher: client });
    assert.equal(again.statusCode, 502);
    await again.body.text();
  });

  it('serves /metrics in Prometheus text format, and its counters move with the traffic', async () => {
    const [live, dead] = await Promise.all([startUpstream('live'), startUpstream('dead')]);
    await dead.kill();
    const lb = await startEdgelb({
      access_log: false,
      admin: { listen: '127.0.0.1:0' },
      upstreams: { web: { peers: [live.address, dead.address], health_check: { interval: '200ms' } } },
    });
    const metricsUrl = `${adminUrl(lb)}/metrics`;
    const scrape = async () => {
      const res = await adminGet(metricsUrl);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      return res.text();
    };

    const first = await scrape();
    assert.deepEqual(await promtoolProblems(first), [], 'promtool accepts the exposition');
    const peer = { pool: 'web', peer: live.address };
    assert.equal(sample(first, 'edgelb_peer_healthy', peer), 1);
    assert.equal(sample(first, 'edgelb_peer_healthy', { pool: 'web', peer: dead.address }), 0);
    assert.equal(sample(first, 'edgelb_peer_drained', peer), 0);
    assert.ok((sample(first, 'edgelb_health_check_duration_seconds_count', peer) ?? 0) >= 1, 'health checks are timed');
    assert.equal(sample(first, 'edgelb_config_reloads_total'), 0);
    // Every series exists before the traffic that moves it, so rate() and alerts work from the start.
    for (const statusClass of ['1xx', '2xx', '3xx', '4xx', '5xx']) {
      assert.equal(sample(first, 'edgelb_requests_total', { route: 'default', ...peer, status_class: statusClass }), 0, statusClass);
      assert.equal(sample(first, 'edgelb_requests_total', { route: 'default', pool: 'web', peer: '', status_class: statusClass }), 0, `${statusClass}, no peer`);
      assert.equal(sample(first, 'edgelb_requests_total', { route: '', pool: '', peer: '', status_class: statusClass }), 0, `${statusClass}, no route`);
    }
    assert.equal(sample(first, 'edgelb_retries_total', { pool: 'web' }), 0);
    assert.equal(sample(first, 'edgelb_upstream_latency_seconds_count', peer), 0);
    assert.equal(sample(first, 'edgelb_peer_ejections_total', peer), 0);

    // A keep-alive client keeps its connection open between requests.
    const agent = new Agent({ keepAliveTimeout: 10_000 });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await request(lb.url, { dispatcher: agent });
        await res.body.text();
        assert.equal(res.statusCode, 200);
      }
      const second = await scrape();
      assert.deepEqual(await promtoolProblems(second), []);
      const requests = (text: string) => sample(text, 'edgelb_requests_total', { route: 'default', ...peer, status_class: '2xx' }) ?? 0;
      assert.equal(requests(second) - requests(first), 3);
      const latencyCount = (text: string) => sample(text, 'edgelb_upstream_latency_seconds_count', peer) ?? 0;
      assert.equal(latencyCount(second) - latencyCount(first), 3);
      assert.equal(sample(second, 'edgelb_upstream_latency_seconds_bucket', { ...peer, le: '+Inf' }), latencyCount(second));
      assert.ok((sample(second, 'edgelb_open_connections') ?? 0) >= 1, 'the keep-alive connection is counted');
      assert.ok(sample(second, 'process_cpu_seconds_total') !== undefined, 'process metrics are there too');
    } finally {
      await agent.close();
    }
  });

  it('counts retries, and failed requests by status class', async () => {
    const [live, dead1, dead2] = await Promise.all([startUpstream('live'), startUpstream('dead1'), startUpstream('dead2')]);
    // The dead peers stay in rotation (long interval, high fall), as in the moments before a check.
    const lb = await startEdgelb({
      access_log: false,
      admin: { listen: '127.0.0.1:0' },
      upstreams: { web: { peers: [dead1.address, dead2.address, live.address], retries: 1, health_check: { interval: '60s', fall: 100 } } },
    });
    await Promise.all([dead1.kill(), dead2.kill()]);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(lb.url);
      await res.text();
      statuses.push(res.status);
    }
    // Round robin starts each request one peer further: dead1→dead2 fails after a retry,
    // dead2→live succeeds after one, live succeeds at once.
    assert.deepEqual([...statuses].sort(), [200, 200, 200, 200, 502, 502]);
    const text = await (await adminGet(`${adminUrl(lb)}/metrics`)).text();
    assert.equal(sample(text, 'edgelb_retries_total', { pool: 'web' }), 4);
    assert.equal(sample(text, 'edgelb_requests_total', { route: 'default', pool: 'web', peer: dead2.address, status_class: '5xx' }), 2);
    assert.equal(sample(text, 'edgelb_requests_total', { route: 'default', pool: 'web', peer: live.address, status_class: '2xx' }), 4);
  });

  it('requires the token when one is configured; the dashboard page itself carries no data', async () => {
    const upstream = await startUpstream('a');
    const lb = await startEdgelb({ admin: { listen: '127.0.0.1:0', token: TOKEN }, upstreams: { web: { peers: [upstream.address] } } });
    const base = adminUrl(lb);
    for (const path of ['/metrics', '/status']) {
      assert.equal((await adminGet(base + path)).status, 401, `${path} without a token`);
      assert.equal((await adminGet(base + path, `${TOKEN}x`)).status, 401, `${path} with a wrong token`);
      assert.equal((await adminGet(base + path, TOKEN)).status, 200, `${path} with the token`);
    }
    const drain = await fetch(`${base}/pools/web/peers/${upstream.address}/drain`, { method: 'POST' });
    assert.equal(drain.status, 401);
    assert.equal((await fetch(lb.url)).status, 200, 'a refused drain changes nothing');
    const page = await adminGet(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>edgelb<\/title>/);
  });

  it('is a config error to listen beyond loopback without a token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelb-admin-'));
    const file = join(dir, 'edgelb.yaml');
    const write = (admin: unknown) => writeFileSync(file, stringify({ admin, upstreams: { web: { peers: ['127.0.0.1:9'] } } }));

    write({ listen: '0.0.0.0:9900' });
    const refused = await runEdgelb(['-t', '-c', file]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /admin\.token: required when admin\.listen is not a loopback address/);
    const started = await runEdgelb(['-c', file]);
    assert.equal(started.code, 1, 'edgelb does not start either');

    write({ listen: '0.0.0.0:9900', token: 'short' });
    assert.match((await runEdgelb(['-t', '-c', file])).stderr, /admin\.token: must be at least 16/);
    write({ listen: '0.0.0.0:9900', token: TOKEN });
    assert.equal((await runEdgelb(['-t', '-c', file])).code, 0);
    write({ listen: '[::1]:9900' });
    assert.equal((await runEdgelb(['-t', '-c', file])).code, 0, 'loopback needs no token');

    writeFileSync(file, stringify({ threads: 2, admin: { listen: '127.0.0.1:9900' }, upstreams: { web: { peers: ['127.0.0.1:9'] } } }));
    assert.equal((await runEdgelb(['-t', '-c', file])).code, 0, 'any number of workers with the admin listener');
  });

  it('stops the start, naming the key, when the admin address is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = taken.address() as AddressInfo;
      const dir = mkdtempSync(join(tmpdir(), 'edgelb-admin-'));
      const file = join(dir, 'edgelb.yaml');
      writeFileSync(file, stringify({ listen: ['127.0.0.1:0'], admin: { listen: `127.0.0.1:${port}` }, upstreams: { web: { peers: ['127.0.0.1:9'] } } }));
      const run = await runEdgelb(['-c', file]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /cannot start: admin\.listen: EADDRINUSE/);
    } finally {
      taken.close();
    }
  });

  it('reports every peer in /status: state, since, last check, reason, requests in flight', async () => {
    const [a, b] = await Promise.all([startUpstream('a'), startUpstream('b')]);
    await b.kill();
    const lb = await startEdgelb({
      access_log: false,
      admin: { listen: '127.0.0.1:0' },
      upstreams: { web: { peers: [a.address, b.address], health_check: { interval: '200ms' } } },
    });
    const status = async () => (await (await adminGet(`${adminUrl(lb)}/status`)).json()) as Status;
    const slow = fetch(`${lb.url}/slow?ms=1500`).then((res) => res.text());
    const during = await waitFor('the slow request to be in flight', async () => {
      const report = await status();
      return report.pools[0]!.peers[0]!.inFlight === 1 && report;
    });
    assert.ok(Math.abs(Date.parse(during.time) - Date.now()) < 5000);
    assert.equal(during.pools.length, 1);
    assert.equal(during.pools[0]!.name, 'web');
    const [up, down] = during.pools[0]!.peers;
    assert.equal(up!.id, a.address);
    assert.equal(up!.state, 'up');
    assert.equal(up!.healthy, true);
    assert.equal(up!.drained, false);
    assert.equal(up!.reason, null);
    assert.ok(up!.latencyMs !== null && up!.latencyMs >= 0);
    assert.ok(Date.parse(up!.since!) <= Date.parse(up!.checkedAt!));
    assert.equal(down!.id, b.address);
    assert.equal(down!.state, 'down');
    assert.equal(down!.healthy, false);
    assert.match(down!.reason ?? '', /ECONNREFUSED/);
    assert.equal(down!.inFlight, 0);

    assert.equal(await slow, 'a slow\n');
    const afterwards = await waitFor('the request to finish', async () => {
      const report = await status();
      return report.pools[0]!.peers[0]!.inFlight === 0 && report;
    });
    assert.equal(afterwards.pools[0]!.peers[0]!.requests, 1);
    const checkedAgain = await waitFor('another check', async () => {
      const report = await status();
      return report.pools[0]!.peers[0]!.checkedAt !== up!.checkedAt && report;
    });
    assert.equal(checkedAgain.pools[0]!.peers[0]!.since, up!.since, 'since stays while the state holds');
  });
});
