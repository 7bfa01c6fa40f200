import { splitCsv } from './csv.ts';
import { InvalidRows } from './invalid-rows.ts';
import { linesOf } from './lines.ts';
import { RequestColumns } from './request-columns.ts';
import { csvRecord, parseJsonObject, RowFields } from './row-fields.ts';
import { DEFAULT_TOKEN_MODEL, describeTokenModel, tokenServiceMs } from './token-service-time.ts';
import { TraceError } from './trace-error.ts';
import { MINUTE_MS, type Trace, type TraceOptions } from './types.ts';

/** One model of the trace as it is read: its requests, and the settings its rows state. */
interface Model {
  readonly requests: RequestColumns;
  coldStartMs?: number;
  slots?: number;
}

/** Where the service times came from, counted per request. */
interface Sources {
  duration: number;
  tokens: number;
  fallback: number;
}

/**
 * Reads a generic request trace, one request per row: CSV with a header, or JSON Lines (a `.jsonl` /
 * `.ndjson` file, or one whose first line starts with `{`). Fields: `timestamp_ms` (epoch or relative
 * ms), `model` (the deployment), optional `duration_ms` (the service time), `input_tokens` and
 * `output_tokens` (the service time by the token model where `duration_ms` is absent; `serviceMs` when
 * neither is given), and `cold_start_ms` and `slots` (the model's own, from the first row that gives
 * them; a later row of the model that states another value is malformed). Streamed: each model keeps
 * two number columns.
 */
export async function readGenericTrace(o: TraceOptions, jsonl: boolean): Promise<Trace> {
  const invalid = new InvalidRows(o.file, o.skipInvalid ?? false);
  const tokenModel = o.tokenModel ?? DEFAULT_TOKEN_MODEL;
  const models = new Map<string, Model>();
  const sources: Sources = { duration: 0, tokens: 0, fallback: 0 };
  let header: string[] | undefined;
  let total = 0;
  for await (const { line, n } of linesOf(o.file)) {
    if (line.trim() === '') continue;
    let row: Record<string, unknown> | string;
    if (jsonl) {
      row = parseJsonObject(line);
    } else {
      const f = splitCsv(line);
      if (header === undefined) {
        // The header is no row to skip: without it nothing else can be read.
        if (typeof f === 'string') throw new TraceError(o.file, n, f);
        for (const need of ['timestamp_ms', 'model'])
          if (!f.includes(need)) throw new TraceError(o.file, n, `the header has no "${need}" column`);
        header = f.map((h) => h.trim());
        continue;
      }
      row = csvRecord(header, f);
    }
    const request = typeof row === 'string' ? row : parseRequest(row);
    if (typeof request === 'string') {
      invalid.reject(o.file, n, request);
      continue;
    }
    let model = models.get(request.model);
    if (model === undefined) {
      if (o.limitFunctions !== undefined && models.size >= o.limitFunctions) continue;
      model = { requests: new RequestColumns() };
      models.set(request.model, model);
    }
    const conflict = adoptSettings(model, request);
    if (conflict !== undefined) {
      invalid.reject(o.file, n, conflict);
      continue;
    }
    let serviceMs: number;
    if (request.durationMs !== undefined) {
      serviceMs = request.durationMs;
      sources.duration++;
    } else if (request.inputTokens !== undefined || request.outputTokens !== undefined) {
      serviceMs = tokenServiceMs(tokenModel, request.inputTokens ?? 0, request.outputTokens ?? 0);
      sources.tokens++;
    } else {
      serviceMs = o.serviceMs;
      sources.fallback++;
    }
    model.requests.push(request.at, serviceMs);
    total++;
  }
  if (total === 0) throw new TraceError(o.file, 1, 'no requests in the trace');
  let first = Infinity;
  let last = -Infinity;
  for (const m of models.values()) {
    first = Math.min(first, m.requests.first);
    last = Math.max(last, m.requests.last);
  }
  return {
    file: o.file,
    format: 'generic',
    startMs: Math.floor(first / MINUTE_MS) * MINUTE_MS,
    endMs: (Math.floor(last / MINUTE_MS) + 1) * MINUTE_MS,
    requests: total,
    deployments: [...models].map(([name, m]) =>
      m.requests.toDeployment(name, { coldStartMs: m.coldStartMs, slots: m.slots }),
    ),
    serviceTimes: describeSources(sources, total, describeTokenModel(tokenModel), o.serviceMs),
    skipped: invalid.summary(),
  };
}

interface Request {
  readonly at: number;
  readonly model: string;
  readonly durationMs?: number;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly coldStartMs?: number;
  readonly slots?: number;
}

/** A row's request, or what is wrong with the row (the first field that is wrong). */
function parseRequest(row: Record<string, unknown>): Request | string {
  const f = new RowFields(row);
  const at = f.number('timestamp_ms', { required: true });
  const model = f.string('model');
  const request = {
    at: at!,
    model: model!,
    inputTokens: f.number('input_tokens'),
    outputTokens: f.number('output_tokens'),
    durationMs: f.number('duration_ms'),
    coldStartMs: f.number('cold_start_ms'),
    slots: f.number('slots', { integer: true, min: 1 }),
  };
  return f.problem ?? request;
}

/** Takes the model's cold start and slots from the first row that states them; another value later is a conflict. */
function adoptSettings(model: Model, r: Request): string | undefined {
  for (const key of ['coldStartMs', 'slots'] as const) {
    const v = r[key];
    if (v === undefined) continue;
    const had = model[key];
    if (had === undefined) model[key] = v;
    else if (had !== v) {
      const column = key === 'coldStartMs' ? 'cold_start_ms' : 'slots';
      return `${column} ${v} conflicts with ${had}, given earlier for model "${r.model}"`;
    }
  }
  return undefined;
}

function describeSources(s: Sources, total: number, tokenModel: string, fallbackMs: number): string {
  if (s.duration === total) return 'duration_ms of each request';
  const parts = [
    s.duration > 0 ? `duration_ms of ${s.duration}` : '',
    s.tokens > 0 ? `token model (${tokenModel}) for ${s.tokens}` : '',
    s.fallback > 0 ? `${fallbackMs} ms for ${s.fallback}` : '',
  ];
  return `${parts.filter((p) => p !== '').join(', ')} of ${total} requests`;
}
