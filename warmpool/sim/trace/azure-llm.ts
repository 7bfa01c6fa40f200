import { splitCsv } from './csv.ts';
import { InvalidRows } from './invalid-rows.ts';
import { linesOf } from './lines.ts';
import { llmServiceTrace } from './llm-trace.ts';
import { RequestColumns } from './request-columns.ts';
import { csvRecord, RowFields } from './row-fields.ts';
import { DEFAULT_TOKEN_MODEL, tokenServiceMs } from './token-service-time.ts';
import { TraceError } from './trace-error.ts';
import type { Trace, TraceOptions } from './types.ts';
import { parseUtcDateTime, ticksBetween, TICKS_PER_MS, type UtcTime } from './utc-datetime.ts';

const COLUMNS = ['TIMESTAMP', 'ContextTokens', 'GeneratedTokens'] as const;

/** Whether a header line is the Azure LLM inference 2023 format (its columns in any order). */
export function isAzureLlmHeader(line: string): boolean {
  const f = line.split(',').map((h) => h.trim());
  return COLUMNS.every((c) => f.includes(c));
}

/**
 * Reads an Azure LLM inference 2023 trace (`TIMESTAMP,ContextTokens,GeneratedTokens`, Patel et al.,
 * Splitwise): one service, one deployment. TIMESTAMP is UTC to 100 ns; arrivals are ms after the first
 * request. Service times come from the tokens (context = input, generated = output).
 */
export async function readAzureLlmTrace(o: TraceOptions): Promise<Trace> {
  const invalid = new InvalidRows(o.file, o.skipInvalid ?? false);
  const tokenModel = o.tokenModel ?? DEFAULT_TOKEN_MODEL;
  const requests = new RequestColumns();
  let header: string[] | undefined;
  // Arrivals are kept as exact integers, 100 ns steps from the file's first row, and turned into ms
  // after the earliest request once, so the 7-digit fraction survives.
  let base: UtcTime | undefined;
  for await (const { line, n } of linesOf(o.file)) {
    if (line.trim() === '') continue;
    const f = splitCsv(line);
    if (header === undefined) {
      if (typeof f === 'string') throw new TraceError(o.file, n, f);
      header = f.map((h) => h.trim());
      continue;
    }
    const row = csvRecord(header, f);
    if (typeof row === 'string') {
      invalid.reject(o.file, n, row);
      continue;
    }
    const at = parseUtcDateTime((row.TIMESTAMP ?? '').trim());
    const fields = new RowFields(row);
    const context = fields.number('ContextTokens', { required: true, integer: true });
    const generated = fields.number('GeneratedTokens', { required: true, integer: true });
    const problem =
      at === undefined
        ? `TIMESTAMP must be a UTC date-time like 2023-11-16 18:15:46.6805900, got ${JSON.stringify(row.TIMESTAMP ?? '')}`
        : fields.problem;
    if (problem !== undefined) {
      invalid.reject(o.file, n, problem);
      continue;
    }
    base ??= at!;
    requests.push(ticksBetween(base, at!), tokenServiceMs(tokenModel, context!, generated!));
  }
  if (header === undefined) throw new TraceError(o.file, 1, 'empty file: expected a header');
  return llmServiceTrace(o, 'azure-llm-2023', requests, TICKS_PER_MS, tokenModel, invalid);
}
