import { splitCsv } from './csv.ts';
import { Growable } from './growable.ts';
import { linesOf } from './lines.ts';
import { TraceError } from './trace-error.ts';
import { MINUTE_MS, type DeploymentTrace, type Trace, type TraceOptions } from './types.ts';

interface Row {
  timestamp_ms: unknown;
  model: unknown;
  input_tokens?: unknown;
  output_tokens?: unknown;
  duration_ms?: unknown;
}

interface Column {
  readonly at: Growable;
  readonly service: Growable;
  sorted: boolean;
}

/**
 * Reads a generic request trace, one request per row: CSV with a header, or JSON Lines (a `.jsonl` /
 * `.ndjson` file, or one whose first line starts with `{`). Fields: `timestamp_ms` (epoch or relative
 * ms), `model` (the deployment), optional `input_tokens`, `output_tokens` (checked, not used by the
 * slot model) and `duration_ms` (the service time; `serviceMs` when absent). Streamed: each model keeps
 * two number columns.
 */
export async function readGenericTrace(o: TraceOptions, jsonl: boolean): Promise<Trace> {
  const models = new Map<string, Column>();
  let header: string[] | undefined;
  let withDuration = 0;
  let total = 0;
  let first = Infinity;
  let last = -Infinity;
  for await (const { line, n } of linesOf(o.file)) {
    if (line.trim() === '') continue;
    let row: Row;
    if (jsonl) {
      row = parseJson(o.file, n, line);
    } else {
      const f = splitCsv(line);
      if (typeof f === 'string') throw new TraceError(o.file, n, f);
      if (header === undefined) {
        for (const need of ['timestamp_ms', 'model'])
          if (!f.includes(need)) throw new TraceError(o.file, n, `the header has no "${need}" column`);
        header = f.map((h) => h.trim());
        continue;
      }
      if (f.length !== header.length)
        throw new TraceError(o.file, n, `expected ${header.length} fields, found ${f.length}`);
      const r: Record<string, string> = {};
      header.forEach((h, i) => {
        if (f[i] !== '') r[h] = f[i]!;
      });
      row = r as unknown as Row;
    }
    const at = number(o.file, n, row, 'timestamp_ms', true)!;
    if (typeof row.model !== 'string' || row.model === '')
      throw new TraceError(
        o.file,
        n,
        `model must be a non-empty string, got ${JSON.stringify(row.model ?? null)}`,
      );
    number(o.file, n, row, 'input_tokens', false);
    number(o.file, n, row, 'output_tokens', false);
    const duration = number(o.file, n, row, 'duration_ms', false);
    let col = models.get(row.model);
    if (col === undefined) {
      if (o.limitFunctions !== undefined && models.size >= o.limitFunctions) continue;
      col = { at: new Growable(), service: new Growable(), sorted: true };
      models.set(row.model, col);
    }
    if (col.at.length > 0 && at < col.at.view()[col.at.length - 1]!) col.sorted = false;
    col.at.push(at);
    col.service.push(duration ?? o.serviceMs);
    if (duration !== undefined) withDuration++;
    total++;
    first = Math.min(first, at);
    last = Math.max(last, at);
  }
  if (total === 0) throw new TraceError(o.file, 1, 'no requests in the trace');
  const deployments = [...models].map(([name, col]) => generic(name, col));
  const startMs = Math.floor(first / MINUTE_MS) * MINUTE_MS;
  return {
    file: o.file,
    format: 'generic',
    startMs,
    endMs: (Math.floor(last / MINUTE_MS) + 1) * MINUTE_MS,
    requests: total,
    deployments,
    serviceTimes:
      withDuration === total
        ? 'duration_ms of each request'
        : `duration_ms of ${withDuration} of ${total} requests, others ${o.serviceMs} ms`,
  };
}

function generic(name: string, col: Column): DeploymentTrace {
  let at = col.at.view();
  let service = col.service.view();
  if (!col.sorted) {
    // Stable by time, so requests with the same timestamp keep their order in the file.
    const order = Array.from(at.keys()).sort((a, b) => at[a]! - at[b]! || a - b);
    at = Float64Array.from(order, (i) => at[i]!);
    service = Float64Array.from(order, (i) => service[i]!);
  }
  let sum = 0;
  for (const s of service) sum += s;
  return {
    name,
    requests: at.length,
    meanServiceMs: sum / at.length,
    requestsFor: () => ({ at, serviceMs: service }),
  };
}

function parseJson(file: string, n: number, line: string): Row {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new TraceError(file, n, `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new TraceError(file, n, 'expected one JSON object per line');
  return v as Row;
}

function number(file: string, n: number, row: Row, key: keyof Row, required: boolean): number | undefined {
  const raw = row[key];
  if (raw === undefined || raw === null) {
    if (required) throw new TraceError(file, n, `${key} is missing`);
    return undefined;
  }
  const v = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  if (!Number.isFinite(v) || v < 0)
    throw new TraceError(file, n, `${key} must be a number ≥ 0, got ${JSON.stringify(raw)}`);
  return v;
}
