import type { ControllerTimeline } from '../admin/controller-timeline.ts';
import { esc } from './html-escape.ts';

export interface PlotInput {
  /** Start of the first bucket; the plot spans [from, from + arrivals.length * bucketMs). */
  readonly from: number;
  readonly bucketMs: number;
  /** Arrivals per bucket (the request history). */
  readonly arrivals: readonly number[];
  readonly timeline: ControllerTimeline | null;
}

const W = 640;
const H = 150;
const LEFT = 34;
const RIGHT = 30;
const TOP = 8;
const BOTTOM = 20;
const PW = W - LEFT - RIGHT;
const PH = H - TOP - BOTTOM;

const r1 = (v: number) => Math.round(v * 10) / 10;

/**
 * Demand against the controller's view, as inline SVG: arrivals per minute (bars, left axis) and the
 * forecast of them (line, same axis); instances kept warm (step line, right axis); cold starts as
 * marks on the time axis. Every bar and mark carries its numbers as data-* attributes, so what the
 * plot shows can be read back exactly (the browser test does).
 */
export function demandPlot(p: PlotInput): string {
  const span = Math.max(1, p.arrivals.length) * p.bucketMs;
  const x = (t: number) => r1(LEFT + ((t - p.from) / span) * PW);
  const samples = (p.timeline?.samples ?? []).filter((s) => s.at >= p.from && s.at < p.from + span);
  const forecast = samples.filter((s) => s.forecastPerMin !== null);
  const yMax = niceMax(Math.max(1, ...p.arrivals, ...forecast.map((s) => s.forecastPerMin!)));
  const wMax = niceMax(Math.max(1, ...samples.map((s) => Math.max(s.warm, s.desired))));
  const y = (v: number) => r1(TOP + PH - (v / yMax) * PH);
  const yw = (v: number) => r1(TOP + PH - (v / wMax) * PH);
  const barW = r1(Math.max(1, (p.bucketMs / span) * PW - 1));

  const bars = p.arrivals.map((n, i) => {
    const t = p.from + i * p.bucketMs;
    return `<rect class="demand" data-start="${t}" data-arrivals="${n}" x="${x(t)}" y="${y(n)}" width="${barW}" height="${r1(TOP + PH - y(n))}"><title>${n} at ${hhmm(t)}</title></rect>`;
  });
  const forecastLine = forecast.length
    ? `<polyline class="forecast" points="${forecast.map((s) => `${x(s.at)},${y(s.forecastPerMin!)}`).join(' ')}"/>`
    : '';
  // A step only where the count changes (and to the last sample): an hour at one count is one segment.
  let warmPath = '';
  for (const [i, s] of samples.entries()) {
    if (i === 0) warmPath = `M${x(s.at)},${yw(s.warm)}`;
    else if (s.warm !== samples[i - 1]!.warm) warmPath += `H${x(s.at)}V${yw(s.warm)}`;
    else if (i === samples.length - 1) warmPath += `H${x(s.at)}`;
  }
  const warmLine = warmPath ? `<path class="warm" d="${warmPath}"/>` : '';
  const colds = (p.timeline?.coldStarts ?? [])
    .filter((c) => c.at >= p.from && c.at < p.from + span)
    .map(
      (c) =>
        `<path class="cold-start" data-at="${c.at}" data-ms="${c.coldStartMs}" d="M${x(c.at)},${TOP + PH + 1}l-4,7h8z"><title>cold start ${esc(c.instance)}: ${c.coldStartMs} ms, ready ${hhmm(c.at)}</title></path>`,
    );
  const ticks = [0, 15, 30, 45, 60]
    .map((m) => p.from + (m / 60) * span)
    .map((t) => `<text x="${x(t)}" y="${H - 2}" text-anchor="middle">${hhmm(t)}</text>`);
  return [
    `<svg class="plot" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="demand, forecast and warm instances over the last hour">`,
    `<line class="axis" x1="${LEFT}" y1="${TOP + PH}" x2="${LEFT + PW}" y2="${TOP + PH}"/>`,
    `<text x="${LEFT - 4}" y="${TOP + 8}" text-anchor="end">${yMax}</text><text x="${LEFT - 4}" y="${TOP + PH}" text-anchor="end">0</text>`,
    `<text class="warm-axis" x="${LEFT + PW + 4}" y="${TOP + 8}">${wMax}</text>`,
    ...bars,
    forecastLine,
    warmLine,
    ...colds,
    ...ticks,
    '</svg>',
  ].join('');
}

/** 1, 2, 5 times a power of ten, at least v. */
function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
