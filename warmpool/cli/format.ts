/** Plain-text tables for the warmgate CLI; pure, so they are tested without a server. */

export interface DeploymentRow {
  name: string;
  kind: string;
  /** Absent for a pipeline, which lists the deployments its steps call instead. */
  model?: { path?: string; url?: string };
  steps?: Record<string, { deployment: string }>;
  scaling: { minInstances: number; maxInstances: number; warmBuffer: number; keepAliveMs: number };
}

export interface PoolStatus {
  deployment: string;
  desired: number;
  instances: { id: string; state: string; url?: string; coldStartMs?: number }[];
  backoffUntil?: number;
  lastFailure?: { reason: string };
}

export interface DecisionRow {
  at: number;
  deployment: string;
  desired: number;
  actual: number;
  reason: string;
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatDeployments(ds: readonly DeploymentRow[]): string {
  return table([
    ['NAME', 'KIND', 'MODEL', 'MIN', 'MAX', 'BUFFER', 'KEEP-ALIVE'],
    ...ds.map((d) => [
      d.name,
      d.kind,
      d.model?.path ?? d.model?.url ?? stepDeployments(d.steps),
      String(d.scaling.minInstances),
      String(d.scaling.maxInstances),
      String(d.scaling.warmBuffer),
      `${d.scaling.keepAliveMs / 1000}s`,
    ]),
  ]);
}

/** A pipeline's MODEL cell: the deployments its steps call, e.g. "steps: classifier, demo". */
function stepDeployments(steps: DeploymentRow['steps']): string {
  if (steps === undefined) return '';
  return `steps: ${[...new Set(Object.values(steps).map((s) => s.deployment))].join(', ')}`;
}

export function formatInstances(pools: readonly PoolStatus[]): string {
  const rows = [['DEPLOYMENT', 'INSTANCE', 'STATE', 'COLD START', 'URL']];
  for (const p of pools) {
    for (const i of p.instances) {
      rows.push([
        p.deployment,
        i.id,
        i.state,
        i.coldStartMs === undefined ? '-' : `${Math.round(i.coldStartMs)} ms`,
        i.url ?? '',
      ]);
    }
    if (p.lastFailure) rows.push([p.deployment, '-', 'failing', '-', p.lastFailure.reason.slice(0, 80)]);
  }
  return table(rows);
}

export function formatDecision(d: DecisionRow): string {
  return `${new Date(d.at).toISOString()}  ${d.deployment}  ${d.actual} -> ${d.desired}  ${d.reason}`;
}

export interface KeyRow {
  id: string;
  name: string;
  created_at: string;
  revoked_at: string | null;
  limits: {
    requestsPerSecond?: number;
    burst?: number;
    tokensPerMinute?: number;
    tokensPerDay?: number;
    maxConcurrentRequests?: number;
  };
}

/** API keys without secrets: id, name, state, limits ('-' where a limit is not set). */
export function formatKeys(keys: readonly KeyRow[]): string {
  const n = (v: number | undefined) => (v === undefined ? '-' : String(v));
  return table([
    ['ID', 'NAME', 'STATE', 'CREATED', 'RPS', 'BURST', 'TOKENS/MIN', 'TOKENS/DAY', 'CONCURRENT'],
    ...keys.map((k) => [
      k.id,
      k.name,
      k.revoked_at === null ? 'active' : 'revoked',
      k.created_at,
      n(k.limits.requestsPerSecond),
      n(k.limits.burst),
      n(k.limits.tokensPerMinute),
      n(k.limits.tokensPerDay),
      n(k.limits.maxConcurrentRequests),
    ]),
  ]);
}

export interface LogLineRow {
  seq: number;
  at: number;
  stream: 'stdout' | 'stderr';
  text: string;
}

/** GET /admin/v1/instances/{id}/logs. */
export interface InstanceLogs {
  instance: string;
  /** False where the provider keeps no output. */
  kept: boolean;
  lines: LogLineRow[];
}

/** A line as the instance wrote it, with `timestamps` preceded by when it was read. */
export function formatLogLine(l: LogLineRow, o: { timestamps?: boolean } = {}): string {
  return o.timestamps ? `${new Date(l.at).toISOString()} ${l.text}` : l.text;
}
