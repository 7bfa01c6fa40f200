import { esc } from './html-escape.ts';
import { PAGE_STYLE } from './page-style.ts';
import type { DeploymentSummary, StatusSummary } from './status-data.ts';
import { demandPlot } from './svg-plot.ts';

/** Seconds between refreshes: the page's script fetches its <main> again (a full reload without script). */
export const REFRESH_S = 5;

/**
 * The whole page: one request, no assets. The tiny script refetches the same URL with `fragment=1`
 * and swaps in the new <main>, so scroll and the filter box stay as they were.
 */
export function renderPage(s: StatusSummary): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>warmgate status</title><style>${PAGE_STYLE}</style>
<noscript><meta http-equiv="refresh" content="${REFRESH_S}"></noscript></head><body>
<h1>warmgate status</h1>
<form class="filter" method="get" action="/status"><input name="q" value="${esc(s.q)}" placeholder="filter deployments" aria-label="filter deployments"> <button>Filter</button></form>
<main id="status">${renderMain(s)}</main>
<script>${REFRESH_SCRIPT}</script></body></html>`;
}

const REFRESH_SCRIPT = `setInterval(async()=>{const u=new URL(location.href);u.searchParams.set('fragment','1');
const r=await fetch(u,{credentials:'same-origin'}).catch(()=>null);if(!r)return;if(r.status===401){location.reload();return}
if(r.ok)document.getElementById('status').innerHTML=await r.text()},${REFRESH_S * 1000});`;

/** What the refresh swaps in. */
export function renderMain(s: StatusSummary): string {
  const states = Object.entries(s.instancesByState)
    .map(
      ([state, n]) =>
        `<span class="state ${esc(state)}" data-state="${esc(state)}">${esc(state)} ${n}</span>`,
    )
    .join('');
  return `<p class="muted" id="summary" data-at="${s.at}" data-total="${s.total}" data-matching="${s.matching}">
${s.total} deployments${s.q ? `, ${s.matching} matching “${esc(s.q)}”` : ''} · instances: ${states || 'none'} · as of ${esc(new Date(s.at).toISOString())}</p>
${pager(s)}
<p class="legend muted"><span><i style="background:var(--demand)"></i>arrivals a minute (history)</span><span><i style="background:var(--forecast)"></i>forecast</span><span><i style="background:var(--warm)"></i>instances kept warm (right axis)</span><span><i style="background:var(--cold)"></i>cold start</span></p>
${s.deployments.map(renderDeployment).join('\n')}
${pager(s)}
${renderKeys(s)}`;
}

function renderDeployment(d: DeploymentSummary): string {
  const states = Object.entries(d.byState)
    .map(
      ([state, n]) =>
        `<span class="state ${esc(state)}" data-state="${esc(state)}" data-count="${n}">${esc(state)} ${n}</span>`,
    )
    .join('');
  const lat = (q: DeploymentSummary['latency']['ttft'], which: string) =>
    q
      ? `<tr data-latency="${which}"><th>${which}</th><td class="num" data-p50="${q.p50Ms}">${fmtMs(q.p50Ms)}</td><td class="num" data-p99="${q.p99Ms}">${fmtMs(q.p99Ms)}</td><td class="num muted">${q.count}</td></tr>`
      : `<tr data-latency="${which}"><th>${which}</th><td colspan="3" class="muted">no requests yet</td></tr>`;
  const plot =
    d.demand.arrivals.length > 0
      ? demandPlot({
          from: d.demand.from,
          bucketMs: d.demand.bucketMs,
          arrivals: d.demand.arrivals,
          timeline: d.timeline,
        })
      : '<p class="muted">request history unavailable</p>';
  return `<section class="deployment" data-deployment="${esc(d.name)}">
<h2>${esc(d.name)} <span class="muted">${esc(d.kind)}${d.base === undefined ? '' : ` of ${esc(d.base)}`} · desired <span data-desired>${d.desired ?? '–'}</span>${d.timeline ? ` · cold starts <span data-cold-starts>${d.timeline.coldStartsTotal}</span>` : ''}</span></h2>
<p class="states">${states || '<span class="muted">no instances</span>'}</p>
<div class="row"><div>${plot}</div>
<table class="latency"><tr><th></th><th>p50</th><th>p99</th><th>n</th></tr>${lat(d.latency.ttft, 'TTFT')}${lat(d.latency.tpot, 'TPOT')}</table></div>
${renderInstances(d)}
${renderDecisions(d)}
</section>`;
}

function renderInstances(d: DeploymentSummary): string {
  if (d.instances.length === 0) return '';
  const rows = d.instances.map((i) => {
    const phases = Object.entries(i.phases)
      .map(([k, v]) => `${esc(k.replace(/Ms$/, ''))} ${fmtMs(v)}`)
      .join(' · ');
    const kv =
      i.kvUsagePct === null
        ? '<span class="muted">–</span>'
        : `<span class="bar"><i style="width:${Math.min(100, Math.max(0, i.kvUsagePct))}%"></i></span> <span data-kv="${i.kvUsagePct}">${i.kvUsagePct.toFixed(1)}%</span>`;
    return `<tr data-instance="${esc(i.id)}"><td>${esc(i.id)}</td><td><span class="state ${esc(i.state)}">${esc(i.state)}</span></td><td class="num" data-cold-start-ms="${i.coldStartMs ?? ''}">${i.coldStartMs === null ? '–' : fmtMs(i.coldStartMs)}</td><td class="muted">${phases}</td><td>${kv}</td></tr>`;
  });
  return `<table class="instances"><tr><th>instance</th><th>state</th><th>cold start</th><th>phases</th><th>KV use</th></tr>${rows.join('')}</table>`;
}

function renderDecisions(d: DeploymentSummary): string {
  if (d.decisions.length === 0) return '';
  const rows = [...d.decisions]
    .reverse()
    .map(
      (x) =>
        `<tr data-decision-at="${x.at}"><td class="muted">${esc(new Date(x.at).toISOString().slice(11, 19))}</td><td class="num">${x.actual} → <b>${x.desired}</b></td><td><span data-reason>${esc(x.reason)}</span>${x.repeats > 0 ? ` <span class="muted" data-repeats="${x.repeats}">(then ${x.repeats} ticks alike)</span>` : ''}</td></tr>`,
    );
  return `<table class="decisions"><tr><th>decided</th><th>instances</th><th>reason</th></tr>${rows.join('')}</table>`;
}

function renderKeys(s: StatusSummary): string {
  if (s.keys.length === 0) return '';
  /** A window's use against its limit ("120 / 1000"), or the use alone with no limit. */
  const against = (used: number | undefined, limit: number | undefined) =>
    used === undefined ? '?' : limit === undefined ? String(used) : `${used} / ${limit}`;
  const rows = s.keys.map(
    (k) =>
      `<tr data-key="${esc(k.id)}"><td>${esc(k.name)}</td><td class="muted">${esc(k.id)}${k.revoked ? ' (revoked)' : ''}</td>` +
      `<td class="num" data-requests>${k.requests}</td><td class="num" data-tokens>${k.tokens}</td>` +
      `<td class="num" data-tokens-minute>${esc(against(k.limited?.tokensThisMinute, k.limits.tokensPerMinute))}</td>` +
      `<td class="num" data-tokens-today>${esc(against(k.limited?.tokensToday, k.limits.tokensPerDay))}</td>` +
      `<td class="num" data-leases>${esc(against(k.limited?.leases, k.limits.maxConcurrentRequests))}</td></tr>`,
  );
  return (
    `<h2>API keys</h2><p class="muted">requests and tokens: used at this gateway since it started; ` +
    `this minute, today (UTC) and concurrent: as the limits count them over every replica</p>` +
    `<table class="keys"><tr><th>name</th><th>id</th><th>requests</th><th>tokens</th><th>tokens this minute</th><th>tokens today</th><th>concurrent</th></tr>${rows.join('')}</table>`
  );
}

function pager(s: StatusSummary): string {
  if (s.pages <= 1) return '';
  const link = (page: number, text: string) => {
    const u = new URLSearchParams({ ...(s.q && { q: s.q }), page: String(page) });
    return `<a href="/status?${esc(u.toString())}">${text}</a>`;
  };
  return `<nav class="pages">${s.page > 1 ? link(s.page - 1, '← previous') : ''}<span>page ${s.page} of ${s.pages}</span> ${s.page < s.pages ? link(s.page + 1, 'next →') : ''}</nav>`;
}

function fmtMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
