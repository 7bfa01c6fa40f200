import { splitCsv } from './csv.ts';
import type { InvalidRows } from './invalid-rows.ts';
import { linesOf } from './lines.ts';
import { PERCENTILE_COLUMNS, type DurationStats } from './service-times.ts';
import { TraceError } from './trace-error.ts';

/**
 * Reads an Azure Functions 2019 durations file
 * (`HashFunction,HashApp,HashOwner,Count,Average,Minimum,Maximum,percentile_Average_{0,1,25,50,75,99,100}`),
 * keeping the functions in `wanted` (all when undefined). A malformed row goes to `invalid`: skipped,
 * its function gets the fallback service time.
 */
export async function readAzureDurations(
  file: string,
  invalid: InvalidRows,
  wanted?: ReadonlySet<string>,
): Promise<Map<string, DurationStats>> {
  const out = new Map<string, DurationStats>();
  let cols: number[] | undefined;
  let width = 0;
  for await (const { line, n } of linesOf(file)) {
    if (line === '') continue;
    const f = splitCsv(line);
    if (cols === undefined) {
      if (typeof f === 'string') throw new TraceError(file, n, f);
      const need = ['HashFunction', 'Average', ...PERCENTILE_COLUMNS];
      const missing = need.filter((c) => !f.includes(c));
      if (missing.length > 0)
        throw new TraceError(file, n, `not an Azure durations header: missing ${missing.join(', ')}`);
      cols = need.map((c) => f.indexOf(c));
      width = f.length;
      continue;
    }
    if (typeof f === 'string' || f.length !== width) {
      invalid.reject(file, n, typeof f === 'string' ? f : `expected ${width} fields, found ${f.length}`);
      continue;
    }
    const name = f[cols[0]!]!;
    if (wanted && !wanted.has(name)) continue;
    const values = cols.slice(1).map((c) => Number(f[c]));
    const bad = values.findIndex((v) => !Number.isFinite(v) || v < 0);
    if (bad >= 0) {
      const column = ['Average', ...PERCENTILE_COLUMNS][bad];
      invalid.reject(file, n, `${column} must be a number ≥ 0, got "${f[cols[bad + 1]!]}"`);
      continue;
    }
    out.set(name, { average: values[0]!, percentiles: values.slice(1) });
  }
  if (cols === undefined) throw new TraceError(file, 1, 'empty file: expected a header');
  return out;
}
