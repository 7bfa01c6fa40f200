import { basename } from 'node:path';
import type { InvalidRows } from './invalid-rows.ts';
import type { RequestColumns } from './request-columns.ts';
import { describeTokenModel, type TokenServiceModel } from './token-service-time.ts';
import { TraceError } from './trace-error.ts';
import { MINUTE_MS, type Trace, type TraceOptions } from './types.ts';

/**
 * The trace of one LLM service (Azure LLM 2023, Mooncake): one deployment named after the file, times
 * in ms after its first request (arrivals were pushed in units of 1 / `unitsPerMs` ms), service times
 * from tokens.
 */
export function llmServiceTrace(
  o: TraceOptions,
  format: 'azure-llm-2023' | 'mooncake',
  requests: RequestColumns,
  unitsPerMs: number,
  tokenModel: TokenServiceModel,
  invalid: InvalidRows,
): Trace {
  if (requests.length === 0) throw new TraceError(o.file, 1, 'no requests in the trace');
  const spanMs = (requests.last - requests.first) / unitsPerMs;
  return {
    file: o.file,
    format,
    startMs: 0,
    endMs: (Math.floor(spanMs / MINUTE_MS) + 1) * MINUTE_MS,
    requests: requests.length,
    deployments: [requests.toDeployment(deploymentName(o.file), {}, requests.first, unitsPerMs)],
    serviceTimes: `token model: ${describeTokenModel(tokenModel)}`,
    skipped: invalid.summary(),
  };
}

/** `data/traces/mooncake_conversation_trace.jsonl.gz` → `mooncake-conversation`. */
export function deploymentName(file: string): string {
  return basename(file)
    .replace(/\.gz$/i, '')
    .replace(/\.[^.]*$/, '')
    .replace(/_trace$/i, '')
    .replace(/[_\s]+/g, '-')
    .toLowerCase();
}
