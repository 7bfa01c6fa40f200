/** One line of a chart: points in data units, drawn in order. */
export interface Line {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
  /** Text drawn next to each point (e.g. the knob value), same length as points. */
  readonly labels?: readonly string[];
  /** Draw a dot at each point (Pareto curves) rather than only the line. */
  readonly markers?: boolean;
}

export interface Chart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly lines: readonly Line[];
  /** Tick text for x values (default: the number). */
  readonly xTick?: (x: number) => string;
  readonly width?: number;
  readonly height?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const M = { left: 70, right: 20, top: 36, bottom: 64 };

export const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** About five round tick values covering [lo, hi]. */
function ticks(lo: number, hi: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

const fmt = (v: number) =>
  Math.abs(v) >= 1e6
    ? `${(v / 1e6).toPrecision(3)}M`
    : Math.abs(v) >= 1e4
      ? `${(v / 1e3).toPrecision(3)}k`
      : String(v);

/** A line chart as a standalone SVG document (no dependency: plain text). */
export function lineChart(c: Chart): string {
  const W = c.width ?? 900;
  const H = c.height ?? 360;
  const pts = c.lines.flatMap((l) => l.points);
  let [x0, x1, y1] = [Infinity, -Infinity, -Infinity];
  for (const [x, y] of pts) {
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y1 = Math.max(y1, y);
  }
  if (!Number.isFinite(x0)) [x0, x1, y1] = [0, 1, 1];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  const y0 = 0;
  if (!(y1 > y0)) y1 = 1;
  y1 *= 1.05;
  const px = (x: number) => Math.round(10 * (M.left + ((x - x0) / (x1 - x0)) * (W - M.left - M.right))) / 10;
  const py = (y: number) =>
    Math.round(10 * (H - M.bottom - ((y - y0) / (y1 - y0)) * (H - M.top - M.bottom))) / 10;
  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  o.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  o.push(
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(c.title)}</text>`,
  );
  for (const t of ticks(y0, y1)) {
    o.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${py(t)}" y2="${py(t)}" stroke="#e5e5e5"/>`);
    o.push(`<text x="${M.left - 6}" y="${py(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of ticks(x0, x1)) {
    o.push(`<line x1="${px(t)}" x2="${px(t)}" y1="${H - M.bottom}" y2="${H - M.bottom + 5}" stroke="#333"/>`);
    o.push(
      `<text x="${px(t)}" y="${H - M.bottom + 18}" text-anchor="middle">${esc(c.xTick ? c.xTick(t) : fmt(t))}</text>`,
    );
  }
  o.push(
    `<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#333"/>`,
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - M.bottom + 36}" text-anchor="middle">${esc(c.xLabel)}</text>`,
    `<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`,
  );
  c.lines.forEach((l, i) => {
    const color = COLORS[i % COLORS.length]!;
    const d = l.points
      .map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`)
      .join('');
    o.push(
      `<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"><title>${esc(l.name)}</title></path>`,
    );
    l.points.forEach(([x, y], k) => {
      if (l.markers)
        o.push(
          `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3.5" fill="${color}"><title>${esc(`${l.name} ${l.labels?.[k] ?? ''}: (${x}, ${y})`)}</title></circle>`,
        );
      const label = l.labels?.[k];
      if (label)
        o.push(
          `<text x="${(px(x) + 5).toFixed(1)}" y="${(py(y) - 5).toFixed(1)}" font-size="10" fill="${color}">${esc(label)}</text>`,
        );
    });
    // Legend along the bottom.
    const lx = M.left + i * 150;
    o.push(
      `<rect x="${lx}" y="${H - 16}" width="14" height="3" fill="${color}"/>`,
      `<text x="${lx + 18}" y="${H - 11}">${esc(l.name)}</text>`,
    );
  });
  o.push('</svg>');
  return o.join('\n');
}
