import { InvalidRows } from './invalid-rows.ts';
import { linesOf } from './lines.ts';
import { llmServiceTrace } from './llm-trace.ts';
import { RequestColumns } from './request-columns.ts';
import { parseJsonObject, RowFields } from './row-fields.ts';
import { DEFAULT_TOKEN_MODEL, tokenServiceMs } from './token-service-time.ts';
import type { Trace, TraceOptions } from './types.ts';

/** Whether a first line is a Mooncake request (`timestamp`, `input_length`, `output_length`). */
export function isMooncakeLine(line: string): boolean {
  const v = parseJsonObject(line);
  return typeof v !== 'string' && 'timestamp' in v && 'input_length' in v && 'output_length' in v;
}

/**
 * Reads a Mooncake trace (JSON lines `{"timestamp": ms, "input_length", "output_length", "hash_ids"}`,
 * Qin et al., FAST 2025): one service, one deployment, arrivals ms after the first request, service
 * times from the tokens. `hash_ids` (prefix blocks) play no part in the slot model.
 */
export async function readMooncakeTrace(o: TraceOptions): Promise<Trace> {
  const invalid = new InvalidRows(o.file, o.skipInvalid ?? false);
  const tokenModel = o.tokenModel ?? DEFAULT_TOKEN_MODEL;
  const requests = new RequestColumns();
  for await (const { line, n } of linesOf(o.file)) {
    if (line.trim() === '') continue;
    const row = parseJsonObject(line);
    if (typeof row === 'string') {
      invalid.reject(o.file, n, row);
      continue;
    }
    const fields = new RowFields(row);
    const at = fields.number('timestamp', { required: true });
    const input = fields.number('input_length', { required: true, integer: true });
    const output = fields.number('output_length', { required: true, integer: true });
    if (fields.problem !== undefined) {
      invalid.reject(o.file, n, fields.problem);
      continue;
    }
    requests.push(at!, tokenServiceMs(tokenModel, input!, output!));
  }
  return llmServiceTrace(o, 'mooncake', requests, 1, tokenModel, invalid);
}
