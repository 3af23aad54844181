import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';
import { adminUrl } from './support/admin.ts';
import { killAll, startEdgelb, startUpstream } from './support/processes.ts';
import { waitFor } from './support/wait-for.ts';

const TOKEN = 'dashboard-token-0123456789abcdef';
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

/** Debian's Chromium, headless, with a fresh profile and nothing that reaches past this machine. */
async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'edgelb-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

describe('dashboard', () => {
  afterEach(killAll);
  after(killAll);

  it('shows the pools and peers as a live grid, and a peer going down within 2 s', async () => {
    const [a, b] = await Promise.all([startUpstream('a'), startUpstream('b')]);
    const lb = await startEdgelb({
      access_log: false,
      admin: { listen: '127.0.0.1:0', token: TOKEN },
      upstreams: { web: { peers: [a.address, b.address], health_check: { interval: '300ms', timeout: '200ms' } } },
    });
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('requestfailed', (request) => errors.push(`${request.url()}: ${request.failure()?.errorText}`));
      // The token travels in the fragment, which the browser never sends to the server.
      await page.goto(`${adminUrl(lb)}/#token=${TOKEN}`);

      await page.locator(`[data-pool="web"] [data-peer="${a.address}"][data-state="up"]`).waitFor({ timeout: 5000 });
      await page.locator(`[data-pool="web"] [data-peer="${b.address}"][data-state="up"]`).waitFor({ timeout: 5000 });
      assert.equal(new URL(page.url()).hash, '', 'the token is taken out of the address bar');
      assert.match(await page.locator('[data-pool="web"] h2').innerText(), /web — 2\/2 up/);

      // Traffic shows up as requests per second on the card of the peer that served it.
      for (let i = 0; i < 20; i++) await (await fetch(lb.url)).text();
      const requestsPerSecond = page.locator(`[data-peer="${a.address}"] .figures b`).first();
      await waitFor('requests per second on the card', async () => Number(await requestsPerSecond.innerText()) > 0, { timeoutMs: 5000 });
      assert.equal(await page.locator(`[data-peer="${a.address}"] svg polyline`).count(), 1, 'a latency sparkline');

      // The totals: requests per second, the 5xx rate and upstream latency percentiles of the last seconds.
      await b.behave(500, 20);
      // More slow answers from b than the fast ones it gave above, all within the dashboard's 10 s window.
      for (let i = 0; i < 60; i++) await (await fetch(lb.url)).text();
      const figure = (name: string) => page.locator(`#totals [data-figure="${name}"]`).innerText();
      await waitFor('the 5xx rate in the totals', async () => /^(\d+\.\d)%$/.test(await figure('errors')) && Number((await figure('errors')).slice(0, -1)) > 0, { timeoutMs: 5000 });
      assert.ok(Number(await figure('rps')) > 0);
      const [p50, p99] = [Number(await figure('p50')), Number(await figure('p99'))];
      assert.ok(p50 > 0 && p99 >= p50, `p50 ${p50} ms, p99 ${p99} ms`);
      // b answers after 20 ms: its median is in the bucket above 10 ms, a's well below.
      const peerLatency = async (peer: string) => (await page.locator(`[data-peer="${peer}"] [title^="upstream latency"] b`).innerText()).split(' / ').map(Number);
      await waitFor('b\'s latency on its card', async () => (await peerLatency(b.address))[0]! > 10, { timeoutMs: 5000 });
      assert.ok((await peerLatency(a.address))[0]! < 10, String(await peerLatency(a.address)));
      const bErrors = /([\d.]+)% 5xx/.exec(await page.locator(`[data-peer="${b.address}"] .figures`).first().innerText());
      assert.ok(bErrors !== null && Number(bErrors[1]) > 50, `b's 5xx rate: ${bErrors?.[1]}%`);
      assert.match(await page.locator(`[data-peer="${a.address}"] .figures`).first().innerText(), /\s0\.0% 5xx/);
      assert.match(await page.locator('[data-pool="web"] .pool-figures').innerText(), /^[\d.]+ req\/s\s+[\d.]+% 5xx\s+[\d.]+ \/ [\d.]+ ms$/);
      assert.match(await page.locator('#about').innerText(), new RegExp(`^v${version.replaceAll('.', '\\.')} · up \\d+s$`));
      assert.match(await page.locator(`[data-peer="${a.address}"] .since`).innerText(), /^since \d+s ago$/);
      await b.behave(200);

      await b.kill();
      const killedAt = performance.now();
      await page.locator(`[data-peer="${b.address}"][data-state="down"]`).waitFor({ timeout: 2000 });
      const shownAfter = performance.now() - killedAt;
      assert.ok(shownAfter <= 2000, `down shown after ${shownAfter.toFixed(0)} ms`);
      assert.match(await page.locator(`[data-peer="${b.address}"] .reason`).innerText(), /ECONNREFUSED/);
      assert.match(await page.locator('[data-pool="web"] h2').innerText(), /1\/2 up/);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

  it('asks for the token when it has none, and works once it is entered', async () => {
    const a = await startUpstream('a');
    const lb = await startEdgelb({ access_log: false, admin: { listen: '127.0.0.1:0', token: TOKEN }, upstreams: { web: { peers: [a.address] } } });
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      await page.goto(`${adminUrl(lb)}/`);
      await page.locator('#login').waitFor({ state: 'visible', timeout: 5000 });
      assert.match(await page.locator('#problem').innerText(), /needs a token/);
      assert.equal(await page.locator('[data-peer]').count(), 0, 'nothing is shown without the token');
      await page.fill('#login input', TOKEN);
      await page.click('#login button');
      await page.locator(`[data-peer="${a.address}"][data-state="up"]`).waitFor({ timeout: 5000 });
      // The drain button asks first: dismissed, nothing happens; accepted, the peer drains.
      page.once('dialog', (dialog) => void dialog.dismiss());
      await page.locator(`[data-peer="${a.address}"] button`).click();
      await waitFor('the question to be answered', async () => (await fetch(lb.url)).status === 200);
      assert.equal(await page.locator(`[data-peer="${a.address}"][data-state="up"]`).count(), 1, 'dismissed: still up');
      let asked = '';
      page.once('dialog', (dialog) => {
        asked = dialog.message();
        void dialog.accept();
      });
      await page.locator(`[data-peer="${a.address}"] button`).click();
      await page.locator(`[data-peer="${a.address}"][data-state="draining"]`).waitFor({ timeout: 5000 });
      assert.match(asked, /^Drain 127\.0\.0\.1:\d+ in pool web\?/);
      assert.equal((await fetch(lb.url)).status, 503, 'the drain button drained the only peer');
    } finally {
      await browser.close();
    }
  });
});
