// The status page in a real browser (headless Debian chromium driven by puppeteer-core) against a
// running platform with a real tiny-model instance: what the page shows equals the admin API and the
// request history, and without the admin token it shows the login form and nothing else.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { type RunningWarmgate, startWarmgate } from '../../warmpool/platform.ts';
import { ADMIN_HEADERS, ADMIN_TOKEN, deployment } from '../support/platform.ts';

const CHROMIUM = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).stdout.trim();
const NO_CHROMIUM = CHROMIUM ? false : 'chromium not found (Debian package chromium; .ci/run installs it)';
/** Reviewed by people, not checked: where the run leaves its screenshot. */
const OUTPUT = new URL('../../test-output/', import.meta.url).pathname;
/** With WARMGATE_UPDATE_SCREENSHOT=1 the run also replaces the one the README shows. */
const COMMITTED = new URL('../../gateway/status-page/screenshot.png', import.meta.url).pathname;
const REQUESTS = 6;

describe('GET /status in headless chromium', { skip: NO_CHROMIUM, timeout: 120_000 }, () => {
  let wg: RunningWarmgate;
  let browser: Browser;
  let apiKey: string;
  let keyId: string;
  /** Prompt and completion tokens of the key's requests, as their answers' usage says. */
  let keyTokens = 0;
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${wg.url}/admin/v1${path}`, { headers: ADMIN_HEADERS });
    assert.equal(res.status, 200, path);
    return (await res.json()) as T;
  };

  before(async () => {
    wg = await startWarmgate({
      port: 0,
      adminToken: ADMIN_TOKEN,
      apiKeys: 'required',
      tickMs: 200,
      deployments: [
        deployment('tiny', 'generative', 'tiny', {
          scaling: { minInstances: 1, maxInstances: 1, warmBuffer: 0, keepAliveMs: 60_000, ttftSloMs: 1000 },
        }),
        deployment('spare', 'generative', 'tiny', {
          scaling: { minInstances: 0, maxInstances: 1, warmBuffer: 0, keepAliveMs: 1000, ttftSloMs: 1000 },
        }),
      ],
    });
    const created = await fetch(`${wg.url}/admin/v1/keys`, {
      method: 'POST',
      headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'status-test' }),
    });
    ({ key: apiKey, id: keyId } = (await created.json()) as { key: string; id: string });
    for (let i = 0; i < REQUESTS; i++) {
      const res = await fetch(`${wg.url}/v1/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny', prompt: `hello ${i}`, max_tokens: 4, temperature: 0 }),
      });
      assert.equal(res.status, 200);
      keyTokens += ((await res.json()) as { usage: { total_tokens: number } }).usage.total_tokens;
    }
    // The requests reach the history store's series once flushed.
    const end = Date.now() + 20_000;
    for (;;) {
      const s = await api<{ deployments: { name: string; demand: { arrivals: number[] } }[] }>(
        '/status?q=tiny',
      );
      const sum = s.deployments[0]!.demand.arrivals.reduce((a, b) => a + b, 0);
      if (sum >= REQUESTS) break;
      assert.ok(Date.now() < end, `history holds ${sum} of ${REQUESTS} arrivals`);
      await new Promise((r) => setTimeout(r, 100));
    }
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Root in a container has no user namespace for chromium's sandbox.
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
  });
  after(async () => {
    await browser?.close();
    await wg?.close();
  });

  const newPage = async (): Promise<Page> => {
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 900 });
    return page;
  };

  it('without a token or with a wrong one: the login form (401), and no data', async () => {
    const page = await newPage();
    try {
      const res = await page.goto(`${wg.url}/status`);
      assert.equal(res?.status(), 401);
      assert.ok(await page.$('form#login input[name=token]'), 'a login form');
      const html = await page.content();
      assert.doesNotMatch(html, /data-deployment|data-instance|data-state|\btiny\b/);

      await page.type('input[name=token]', 'not-the-token');
      const [wrong] = await Promise.all([page.waitForNavigation(), page.click('form#login button')]);
      assert.equal(wrong?.status(), 401);
      assert.match(await page.$eval('#login-problem', (e) => e.textContent ?? ''), /not valid/);
      assert.doesNotMatch(await page.content(), /data-deployment|data-instance|data-state|\btiny\b/);

      const res2 = await fetch(`${wg.url}/status`, { headers: { authorization: 'Bearer nope' } });
      assert.equal(res2.status, 401);
      assert.doesNotMatch(await res2.text(), /data-deployment|data-instance|\btiny\b/);
    } finally {
      await page.close();
    }
  });

  it('signed in: instances, decisions, plot, latency and key usage as the admin API and history have them', async () => {
    const page = await newPage();
    try {
      await page.goto(`${wg.url}/status`);
      await page.type('input[name=token]', ADMIN_TOKEN);
      // The controller's ring of decisions just before the page is rendered (see the decisions below).
      const ringBefore = (
        await api<{ decisions: { at: number; reason: string }[] }>('/decisions?deployment=tiny')
      ).decisions;
      const [res] = await Promise.all([page.waitForNavigation(), page.click('form#login button')]);
      assert.equal(res?.status(), 200);
      const shown = await page.$eval('section[data-deployment="tiny"]', (s) => ({
        states: Object.fromEntries(
          [...s.querySelectorAll('.states [data-state]')].map((e) => [
            e.getAttribute('data-state')!,
            Number(e.getAttribute('data-count')),
          ]),
        ),
        instances: [...s.querySelectorAll('tr[data-instance]')].map((e) => ({
          id: e.getAttribute('data-instance')!,
          coldStartMs: Number(e.querySelector('[data-cold-start-ms]')!.getAttribute('data-cold-start-ms')),
        })),
        bars: [...s.querySelectorAll('svg rect.demand')].map((e) => [
          Number(e.getAttribute('data-start')),
          Number(e.getAttribute('data-arrivals')),
        ]),
        coldMarks: [...s.querySelectorAll('svg .cold-start')].map((e) => Number(e.getAttribute('data-at'))),
        decisions: [...s.querySelectorAll('tr[data-decision-at]')].map((e) => ({
          at: Number(e.getAttribute('data-decision-at')),
          reason: e.querySelector('[data-reason]')!.textContent,
        })),
        ttft: Number(s.querySelector('[data-latency=TTFT] [data-p50]')?.getAttribute('data-p50')),
        ttftCount: s.querySelector('[data-latency=TTFT] td:last-child')?.textContent,
      }));
      const keyRequests = await page.$eval(`tr[data-key="${keyId}"] [data-requests]`, (e) => e.textContent);
      const keyToday = await page.$eval(`tr[data-key="${keyId}"] [data-tokens-today]`, (e) => e.textContent);
      const keyTokensShown = await page.$eval(`tr[data-key="${keyId}"] [data-tokens]`, (e) => e.textContent);

      // Instances by state and their cold starts: what GET /admin/v1/instances reports.
      const { pools } = await api<{
        pools: { deployment: string; instances: { id: string; state: string; coldStartMs?: number }[] }[];
      }>('/instances');
      const tiny = pools.find((p) => p.deployment === 'tiny')!;
      const byState: Record<string, number> = {};
      for (const i of tiny.instances) byState[i.state] = (byState[i.state] ?? 0) + 1;
      assert.deepEqual(shown.states, byState);
      assert.deepEqual(
        shown.instances,
        tiny.instances.map((i) => ({ id: i.id, coldStartMs: i.coldStartMs })),
      );

      // The plot's bars are the history's series, bucket for bucket.
      assert.equal(shown.bars.length, 60);
      const from = shown.bars[0]![0]!;
      const series = await wg.gateway.gateway.context.history.series('tiny', from, from + 3_600_000, 60_000);
      assert.deepEqual(
        shown.bars,
        series.map((b) => [b.start, b.arrivals]),
      );
      assert.equal(
        shown.bars.reduce((a, [, n]) => a + n!, 0),
        REQUESTS,
      );

      // Cold starts marked on the time axis: the controller's, as GET /admin/v1/timeline has them.
      const timeline = await api<{ coldStarts: { at: number }[] }>(`/timeline?deployment=tiny&since=${from}`);
      assert.ok(timeline.coldStarts.length >= 1, 'the instance the controller started');
      assert.deepEqual(
        shown.coldMarks,
        timeline.coldStarts.map((c) => c.at),
      );

      // The last changes among the decisions, with their reasons, as GET /admin/v1/decisions has them. The
      // ring keeps the last 50 ticks and moves on: what the page showed is in the ring read just before it
      // was rendered (older changes) or in the one read now (newer ones).
      const ringAfter = (
        await api<{ decisions: { at: number; reason: string }[] }>('/decisions?deployment=tiny')
      ).decisions;
      const decisions = [...ringBefore, ...ringAfter];
      assert.ok(shown.decisions.length > 0);
      for (const d of shown.decisions)
        assert.ok(
          decisions.some((x) => x.at === d.at && x.reason === d.reason),
          `decision at ${d.at} in the API's ring`,
        );

      // TTFT over the requests sent, and the key's usage.
      assert.ok(shown.ttft > 0, 'a TTFT p50');
      assert.equal(shown.ttftCount, String(REQUESTS));
      assert.equal(keyRequests, String(REQUESTS));
      assert.equal(keyTokensShown, String(keyTokens), "the key's tokens at this replica: the answers' usage");
      // The limiter's day window (no limit set: the count alone); a UTC midnight between could split it.
      assert.ok(
        Number(keyToday) === keyTokens || new Date().getUTCHours() === 0,
        `today ${keyToday} of ${keyTokens}`,
      );

      mkdirSync(OUTPUT, { recursive: true });
      await page.screenshot({ path: join(OUTPUT, 'status-page.png'), fullPage: true });
      if (process.env['WARMGATE_UPDATE_SCREENSHOT'] === '1') await page.screenshot({ path: COMMITTED });

      // It refreshes itself: the summary's timestamp moves on without a navigation.
      const at0 = Number(await page.$eval('#summary', (e) => e.getAttribute('data-at')));
      await page.waitForFunction(
        `Number(document.querySelector('#summary')?.getAttribute('data-at')) > ${at0}`,
        { timeout: 15_000 },
      );
    } finally {
      await page.close();
    }
  });

  it('filters and pages: ?q= shows only matching deployments', async () => {
    const page = await newPage();
    try {
      await page.setExtraHTTPHeaders(ADMIN_HEADERS);
      await page.goto(`${wg.url}/status?q=spa`);
      const names = await page.$$eval('section[data-deployment]', (s) =>
        s.map((e) => e.getAttribute('data-deployment')),
      );
      assert.deepEqual(names, ['spare']);
      const bad = await fetch(`${wg.url}/status?page=0`, { headers: ADMIN_HEADERS });
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'invalid_request');
    } finally {
      await page.close();
    }
  });
});
