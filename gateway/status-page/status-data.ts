import type { ControllerTimeline } from '../admin/controller-timeline.ts';
import { lastChanges } from '../admin/decision-changes.ts';
import type { AdminOperations } from '../admin/index.ts';
import type { KeyLimits, KeyStore, KeyUsageTally, Limiter, LimitUsage } from '../auth/index.ts';
import type { DeploymentRegistry } from '../deployments/index.ts';
import { ApiError } from '../errors/index.ts';
import type { InstanceTable } from '../instances/index.ts';
import type { HistoryStore } from '../request-history/index.ts';
import type { Quantiles } from '../telemetry/recent-latency.ts';

/** The demand plot's window: the last hour in minute buckets, the current minute last. */
export const WINDOW_MS = 3_600_000;
export const BUCKET_MS = 60_000;
const DEFAULT_PER_PAGE = 20;
const MAX_PER_PAGE = 100;
const DECISIONS_SHOWN = 5;

/** Where the page's numbers come from: all of them already in the gateway, none computed for it. */
export interface StatusSources {
  readonly deployments: DeploymentRegistry;
  readonly registry: InstanceTable;
  readonly history: HistoryStore;
  readonly operations?: AdminOperations;
  readonly latency: (model: string) => { ttft: Quantiles | null; tpot: Quantiles | null };
  readonly keys?: KeyStore;
  readonly keyUsage?: KeyUsageTally;
  /** The keys' limits as enforced (shared over replicas with Redis): what each key used of its windows. */
  readonly limiter?: Limiter;
}

/** One API key: what this replica recorded, and its limits' windows over every replica. */
export interface KeyRow {
  readonly id: string;
  readonly name: string;
  readonly revoked: boolean;
  /** Generations recorded at this replica since it started. */
  readonly requests: number;
  readonly tokens: number;
  /** Tokens this minute and today and leases held, as the limits are enforced; null if unreadable. */
  readonly limited: LimitUsage | null;
  readonly limits: KeyLimits;
}

/** A pool as AdminOperations.instances() reports it (warmpool's WarmPoolStatus, as the gateway reads it). */
interface PoolView {
  readonly deployment: string;
  readonly desired: number;
  readonly instances: readonly {
    readonly id: string;
    readonly state: string;
    readonly url?: string;
    readonly coldStartMs?: number;
    readonly phases?: Record<string, number>;
  }[];
}

export interface InstanceSummary {
  readonly id: string;
  readonly state: string;
  readonly url: string | null;
  readonly coldStartMs: number | null;
  /** startingMs, loadingMs, warmingMs as the pool timed them. */
  readonly phases: Record<string, number>;
  /** The instance's last load report, null before one came (or for a tensor model). */
  readonly kvUsagePct: number | null;
}

export interface DeploymentSummary {
  readonly name: string;
  readonly kind: string;
  /** An adapter's base, whose instances serve it (it has none of its own). */
  readonly base?: string;
  readonly desired: number | null;
  readonly byState: Record<string, number>;
  readonly instances: readonly InstanceSummary[];
  /** Arrivals per minute bucket, from the request history; bucket i starts at from + i * bucketMs. */
  readonly demand: { readonly from: number; readonly bucketMs: number; readonly arrivals: readonly number[] };
  /** The controller's forecast, kept-warm instances and cold starts over the same hour; null without one. */
  readonly timeline: ControllerTimeline | null;
  /** The last changes (decisions every tick repeats are counted in `repeats`, not listed). */
  readonly decisions: readonly {
    at: number;
    desired: number;
    actual: number;
    reason: string;
    repeats: number;
  }[];
  readonly latency: { ttft: Quantiles | null; tpot: Quantiles | null };
}

export interface StatusSummary {
  readonly at: number;
  readonly q: string;
  readonly page: number;
  readonly pages: number;
  readonly perPage: number;
  /** Deployments matching q (all of them on every page). */
  readonly matching: number;
  readonly total: number;
  /** Instances of every deployment by state. */
  readonly instancesByState: Record<string, number>;
  readonly deployments: readonly DeploymentSummary[];
  /** Per API key, what it used at this replica; empty when the gateway keeps no keys. */
  readonly keys: readonly KeyRow[];
}

export interface StatusQuery {
  /** Part of a deployment's name (case-insensitive). */
  readonly q: string;
  /** 1-based. */
  readonly page: number;
  readonly perPage: number;
}

/** ?q=, ?page=, ?per_page= checked; bad values are a 400 invalid_request naming the parameter. */
export function statusQuery(params: URLSearchParams): StatusQuery {
  const int = (name: string, fallback: number, max: number): number => {
    const v = params.get(name);
    if (v === null || v === '') return fallback;
    const n = Number(v);
    if (!/^\d{1,6}$/.test(v) || n < 1 || n > max)
      throw new ApiError('invalid_request', `${name} must be a whole number from 1 to ${max}, got '${v}'`, {
        param: name,
      });
    return n;
  };
  const q = params.get('q') ?? '';
  if (q.length > 200)
    throw new ApiError('invalid_request', 'q is longer than 200 characters', { param: 'q' });
  return { q, page: int('page', 1, 999_999), perPage: int('per_page', DEFAULT_PER_PAGE, MAX_PER_PAGE) };
}

/**
 * The status page's numbers for one page of deployments. The work grows with the page, not with the
 * deployments: every deployment is only counted and filtered by name; the history, timelines and
 * decisions are read for the page's own.
 */
export async function gatherStatus(
  s: StatusSources,
  query: StatusQuery,
  now: number,
): Promise<StatusSummary> {
  const all = s.deployments.list();
  const needle = query.q.toLowerCase();
  const matching = needle ? all.filter((d) => d.name.toLowerCase().includes(needle)) : all;
  const pages = Math.max(1, Math.ceil(matching.length / query.perPage));
  const page = Math.min(query.page, pages);
  const shown = matching.slice((page - 1) * query.perPage, page * query.perPage);

  const pools = new Map<string, PoolView>();
  const instancesByState: Record<string, number> = {};
  for (const p of (s.operations?.instances() ?? []) as PoolView[]) {
    pools.set(p.deployment, p);
    for (const i of p.instances) instancesByState[i.state] = (instancesByState[i.state] ?? 0) + 1;
  }
  const from = Math.floor(now / BUCKET_MS) * BUCKET_MS + BUCKET_MS - WINDOW_MS;
  const to = from + WINDOW_MS;
  const deployments = await Promise.all(
    shown.map(async (d): Promise<DeploymentSummary> => {
      const pool = pools.get(d.name);
      const kv = new Map(s.registry.instances(d.name).map((i) => [i.url, i.load.kvUsagePct ?? null]));
      const byState: Record<string, number> = {};
      for (const i of pool?.instances ?? []) byState[i.state] = (byState[i.state] ?? 0) + 1;
      const series = await s.history.series(d.name, from, to, BUCKET_MS).catch(() => null);
      return {
        name: d.name,
        kind: d.kind,
        ...(d.base !== undefined && { base: d.base }),
        desired: pool?.desired ?? null,
        byState,
        instances: (pool?.instances ?? []).map((i) => ({
          id: i.id,
          state: i.state,
          url: i.url ?? null,
          coldStartMs: i.coldStartMs ?? null,
          phases: Object.fromEntries(Object.entries(i.phases ?? {}).filter(([k]) => k !== 'coldStartMs')),
          kvUsagePct: i.url === undefined ? null : (kv.get(i.url) ?? null),
        })),
        demand: { from, bucketMs: BUCKET_MS, arrivals: series?.map((b) => b.arrivals) ?? [] },
        timeline: s.operations?.timeline?.(d.name, from) ?? null,
        decisions: lastChanges(
          (s.operations?.decisions(d.name) ?? []) as DeploymentSummary['decisions'][number][],
          DECISIONS_SHOWN,
        ).map(({ at, desired, actual, reason, repeats }) => ({ at, desired, actual, reason, repeats })),
        latency: s.latency(d.name),
      };
    }),
  );
  return {
    at: now,
    q: query.q,
    page,
    pages,
    perPage: query.perPage,
    matching: matching.length,
    total: all.length,
    instancesByState,
    deployments,
    keys: await keyUsage(s),
  };
}

async function keyUsage(s: StatusSources): Promise<StatusSummary['keys']> {
  if (!s.keys) return [];
  const records = await s.keys.list().catch(() => []);
  return Promise.all(
    records.map(async (r) => ({
      id: r.id,
      name: r.name,
      revoked: r.revokedAt !== null,
      ...(s.keyUsage?.of(r.id) ?? { requests: 0, tokens: 0 }),
      // The limiter's windows, as every replica counts them; null when its store cannot be read.
      limited: (await s.limiter?.usage(r.id).catch(() => null)) ?? null,
      limits: r.limits,
    })),
  );
}
