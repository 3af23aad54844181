import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';
import { adminUrl } from './support/admin.ts';
import { killAll, startEdgelb, startUpstream } from './support/processes.ts';
import { waitFor } from './support/wait-for.ts';

const TOKEN = 'dashboard-token-0123456789abcdef';

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
