import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { mulberry32, streamSeed } from '../prng.ts';
import { readAzureDurations } from './azure-durations.ts';
import { splitCsv } from './csv.ts';
import { InvalidRows } from './invalid-rows.ts';
import { linesOf } from './lines.ts';
import { sampleServiceMs, type DurationStats } from './service-times.ts';
import { TraceError } from './trace-error.ts';
import { MINUTE_MS, type DeploymentTrace, type Requests, type Trace, type TraceOptions } from './types.ts';

const HASHES = ['HashFunction', 'HashApp', 'HashOwner'] as const;

/** One function of the file: its invocations per minute. */
interface FunctionRow {
  readonly name: string;
  readonly counts: Uint32Array;
  readonly total: number;
}

/** Whether a header line is the Azure Functions 2019 invocations format. */
export function isAzureInvocationsHeader(line: string): boolean {
  return line.startsWith('HashFunction,') && line.includes(',minute_1');
}

/** The companion durations file: the same name with `invocations` replaced by `durations`, if it exists. */
function durationsFileFor(file: string): string | undefined {
  const name = basename(file);
  if (!name.includes('invocations')) return undefined;
  const candidate = join(dirname(file), name.replace('invocations', 'durations'));
  return existsSync(candidate) ? candidate : undefined;
}

/**
 * Reads the Azure Functions 2019 per-minute invocation counts (`HashFunction,HashApp,HashOwner,
 * minute_1..minute_N`), streaming: each function keeps only its counts (N × 4 bytes); its arrivals are
 * spread uniformly at random within each minute when it is simulated. Minute 1 starts at t = 0.
 */
export async function readAzureInvocations(o: TraceOptions): Promise<Trace> {
  const invalid = new InvalidRows(o.file, o.skipInvalid ?? false);
  const rows: FunctionRow[] = [];
  let minutes = 0;
  let width = 0;
  for await (const { line, n } of linesOf(o.file)) {
    if (line === '') continue;
    const f = splitCsv(line);
    if (width === 0) {
      if (typeof f === 'string') throw new TraceError(o.file, n, f);
      HASHES.forEach((h, i) => {
        if (f[i] !== h)
          throw new TraceError(o.file, n, `column ${i + 1} of the header must be ${h}, got "${f[i]}"`);
      });
      for (let i = 3; i < f.length; i++)
        if (f[i] !== `minute_${i - 2}`)
          throw new TraceError(
            o.file,
            n,
            `column ${i + 1} of the header must be minute_${i - 2}, got "${f[i]}"`,
          );
      minutes = f.length - 3;
      if (minutes === 0) throw new TraceError(o.file, n, 'the header has no minute_ columns');
      width = f.length;
      continue;
    }
    if (o.limitFunctions !== undefined && rows.length >= o.limitFunctions) break;
    const row = typeof f === 'string' ? f : functionRow(f, width, minutes);
    if (typeof row === 'string') {
      invalid.reject(o.file, n, row);
      continue;
    }
    rows.push(row);
  }
  if (width === 0) throw new TraceError(o.file, 1, 'empty file: expected a header');

  const durationsFile = o.durations ?? durationsFileFor(o.file);
  const durations = durationsFile
    ? await readAzureDurations(durationsFile, invalid, new Set(rows.map((r) => r.name)))
    : new Map<string, DurationStats>();
  const withStats = rows.filter((r) => durations.has(r.name)).length;
  const deployments = rows.map((r) =>
    azureFunction(r.name, r.counts, r.total, durations.get(r.name), o.serviceMs),
  );
  return {
    file: o.file,
    format: 'azure-functions',
    startMs: 0,
    endMs: minutes * MINUTE_MS,
    requests: rows.reduce((s, r) => s + r.total, 0),
    deployments,
    serviceTimes: durationsFile
      ? `sampled from ${durationsFile} (${withStats} of ${rows.length} functions; others ${o.serviceMs} ms)`
      : `fixed ${o.serviceMs} ms (no durations file)`,
    skipped: invalid.summary(),
  };
}

/** One function's row of counts, or what is wrong with it. */
function functionRow(f: readonly string[], width: number, minutes: number): FunctionRow | string {
  if (f.length !== width) return `expected ${width} fields, found ${f.length}`;
  const counts = new Uint32Array(minutes);
  let total = 0;
  for (let m = 0; m < minutes; m++) {
    const s = f[m + 3]!;
    const v = Number(s);
    if (s === '' || !Number.isSafeInteger(v) || v < 0)
      return `minute_${m + 1} must be an integer ≥ 0, got "${s}"`;
    counts[m] = v;
    total += v;
  }
  const name = f[0]!;
  if (name === '') return 'HashFunction is empty';
  return { name, counts, total };
}

function azureFunction(
  name: string,
  counts: Uint32Array,
  total: number,
  stats: DurationStats | undefined,
  fallbackMs: number,
): DeploymentTrace {
  return {
    name,
    requests: total,
    meanServiceMs: stats ? stats.average : fallbackMs,
    requestsFor(seed: number): Requests {
      const place = mulberry32(streamSeed(seed, `arrivals:${name}`));
      const serve = mulberry32(streamSeed(seed, `service:${name}`));
      const at = new Float64Array(total);
      const serviceMs = new Float64Array(total);
      let k = 0;
      for (let m = 0; m < counts.length; m++) {
        const c = counts[m]!;
        if (c === 0) continue;
        const from = k;
        for (let j = 0; j < c; j++) at[k++] = (m + place()) * MINUTE_MS;
        at.subarray(from, k).sort();
      }
      for (let i = 0; i < total; i++) serviceMs[i] = stats ? sampleServiceMs(stats, serve) : fallbackMs;
      return { at, serviceMs };
    },
  };
}
