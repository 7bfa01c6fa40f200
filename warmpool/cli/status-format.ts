import type { StatusSummary } from '../../gateway/status-page/index.ts';
import { table } from './format.ts';

type Quantiles = StatusSummary['deployments'][number]['latency']['ttft'];

const ms = (q: Quantiles) => (q ? `${Math.round(q.p50Ms)}/${Math.round(q.p99Ms)} ms` : '-');
const states = (byState: Record<string, number>) =>
  Object.entries(byState)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ') || '0';

/** The status page's summary as a table: one row per deployment, then the page and the keys. */
export function formatStatus(s: StatusSummary): string {
  const rows = s.deployments.map((d) => {
    const last = d.timeline?.samples.at(-1);
    const decision = d.decisions.at(-1);
    return [
      d.name,
      states(d.byState),
      String(d.desired ?? '-'),
      String(d.demand.arrivals.reduce((a, b) => a + b, 0)),
      last?.forecastPerMin == null ? '-' : last.forecastPerMin.toFixed(1),
      String(last?.warm ?? '-'),
      String(d.timeline?.coldStartsTotal ?? '-'),
      ms(d.latency.ttft),
      ms(d.latency.tpot),
      decision ? decision.reason : '-',
    ];
  });
  const out = [
    table([
      [
        'NAME',
        'INSTANCES',
        'DESIRED',
        'REQ/H',
        'FORECAST/MIN',
        'WARM',
        'COLD',
        'TTFT P50/P99',
        'TPOT P50/P99',
        'LAST DECISION',
      ],
      ...rows,
    ]),
  ];
  const shown = s.q ? `${s.matching} of ${s.total} deployments match '${s.q}'` : `${s.total} deployments`;
  out.push(`${shown}; page ${s.page} of ${s.pages}`);
  if (s.keys.length > 0)
    out.push(
      '',
      table([
        ['KEY', 'ID', 'REQUESTS', 'TOKENS', 'TOKENS TODAY'],
        ...s.keys.map((k) => [
          k.name + (k.revoked ? ' (revoked)' : ''),
          k.id,
          String(k.requests),
          String(k.tokens),
          k.limited === null
            ? '?'
            : String(k.limited.tokensToday) + (k.limits.tokensPerDay ? ` / ${k.limits.tokensPerDay}` : ''),
        ]),
      ]),
    );
  return out.join('\n');
}
