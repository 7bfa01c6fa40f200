/**
 * node --import tsx gateway/bench/status-page.ts [--deployments 1000]
 *
 * The status page with many deployments: a gateway on loopback whose AdminOperations report N pools
 * (two instances each, a full hour of timeline samples, 50 decisions) and whose in-memory history holds
 * arrivals in every minute of the last hour for each deployment. Measures GET /status (page 1 at 20
 * and at 100 a page, and a ?q= filter) and GET /admin/v1/status: bytes, and the server's time to
 * answer (median and p90 over 30 requests, one at a time, after 5 unmeasured).
 * With Debian's chromium present it also loads page 1 there (puppeteer-core, headless) and reports the
 * browser's time from navigation start to the load event (median of 10), that is, fetch, parse and render.
 * The controller's side is a stand-in here (the gateway never imports warmpool): its shapes are those
 * of warmpool/controller, its cost is reading arrays already held.
 */
import { parseArgs } from 'node:util';
import type { AdminOperations } from '../admin/index.ts';
import { createHistoryStore } from '../request-history/index.ts';
import { startGateway } from '../server/index.ts';

const { values: o } = parseArgs({ options: { deployments: { type: 'string', default: '1000' } } });
const N = Number(o.deployments);
const TOKEN = 'bench-admin-token';
const now = Date.now();
const names = Array.from({ length: N }, (_, i) => `model-${String(i).padStart(4, '0')}`);
const spec = (name: string) => ({
  name,
  kind: 'generative' as const,
  model: { path: '/models/tiny' },
  scaling: { minInstances: 1, maxInstances: 4, warmBuffer: 0, keepAliveMs: 60_000, ttftSloMs: 1000 },
});
const pools = names.map((deployment) => ({
  deployment,
  desired: 2,
  instances: [0, 1].map((k) => ({
    id: `${deployment}-${k}`,
    state: k === 0 ? 'serving' : 'ready-idle',
    url: `http://10.0.0.${k}:8000`,
    coldStartMs: 2400,
    phases: { startingMs: 300, loadingMs: 1900, warmingMs: 200, coldStartMs: 2400 },
  })),
}));
const operations: AdminOperations = {
  instances: () => pools,
  decisions: (d) =>
    Array.from({ length: 50 }, (_, i) => ({
      at: now - (50 - i) * 500,
      deployment: d,
      desired: 2,
      actual: 2,
      reason:
        'predictive holding: p(rest of minute) 0.91, p(next 1 min) 0.88 × 3.2 requests ≥ 0.1; ~41.0/min; 2',
    })),
  timeline: (deployment, since) => ({
    deployment,
    stepMs: 10_000,
    samples: Array.from({ length: 360 }, (_, i) => ({
      at: now - (360 - i) * 10_000,
      forecastPerMin: 40 + (i % 7),
      desired: 2,
      warm: 2,
    })).filter((s) => s.at >= since),
    coldStarts: [{ at: now - 1_800_000, instance: `${deployment}-1`, coldStartMs: 2400 }],
    coldStartsTotal: 1,
  }),
};
const history = createHistoryStore({});
for (const model of names)
  for (let m = 0; m < 60; m++) {
    const at = now - m * 60_000;
    history.recordArrival(model, at);
    history.recordEnd({
      model,
      at,
      promptTokens: 8,
      outputTokens: 16,
      ttftMs: 40,
      outcome: 'ok',
    });
  }
await history.flush();
const gw = await startGateway({
  port: 0,
  adminToken: TOKEN,
  deployments: names.map(spec),
  history,
  operations,
});
const headers = { authorization: `Bearer ${TOKEN}` };

async function measure(path: string): Promise<{ path: string; bytes: number; p50Ms: number; p90Ms: number }> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 35; i++) {
    const t0 = performance.now();
    const res = await fetch(`${gw.url}${path}`, { headers });
    const body = await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    if (i >= 5) times.push(performance.now() - t0);
    bytes = body.byteLength;
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => Math.round(times[Math.ceil(p * times.length) - 1]! * 10) / 10;
  return { path, bytes, p50Ms: q(0.5), p90Ms: q(0.9) };
}

/** Navigation start to the load event in headless chromium, median of 10; null without chromium. */
async function inChromium(): Promise<{ path: string; loadEventMs: number } | null> {
  const { spawnSync } = await import('node:child_process');
  const chromium = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).stdout.trim();
  if (!chromium) return null;
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({ executablePath: chromium, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    await page.setExtraHTTPHeaders(headers);
    const times: number[] = [];
    for (let i = 0; i < 11; i++) {
      await page.goto(`${gw.url}/status`, { waitUntil: 'load' });
      const t = await page.evaluate(
        '(() => { const n = performance.getEntriesByType("navigation")[0]; return n.loadEventEnd - n.startTime; })()',
      );
      if (i > 0) times.push(Number(t));
    }
    times.sort((a, b) => a - b);
    return { path: '/status', loadEventMs: Math.round(times[5]! * 10) / 10 };
  } finally {
    await browser.close();
  }
}

try {
  const rows = [];
  for (const path of [
    '/status',
    '/status?per_page=100',
    '/status?page=50',
    '/status?q=model-09',
    '/admin/v1/status',
  ])
    rows.push(await measure(path));
  console.log(JSON.stringify({ deployments: N, results: rows, browser: await inChromium() }, null, 2));
} finally {
  await gw.close();
}
