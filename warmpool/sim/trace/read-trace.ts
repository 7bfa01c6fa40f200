import { linesOf } from './lines.ts';
import { isAzureInvocationsHeader, readAzureInvocations } from './azure-invocations.ts';
import { isAzureLlmHeader, readAzureLlmTrace } from './azure-llm.ts';
import { readGenericTrace } from './generic.ts';
import { isMooncakeLine, readMooncakeTrace } from './mooncake.ts';
import { TraceError } from './trace-error.ts';
import type { Trace, TraceOptions } from './types.ts';

/**
 * Reads a trace, choosing the reader from its first line: the Azure Functions 2019 or Azure LLM 2023
 * header, a Mooncake request, else the generic format (JSON Lines or CSV).
 */
export async function readTrace(o: TraceOptions): Promise<Trace> {
  let firstLine: string | undefined;
  try {
    for await (const { line } of linesOf(o.file)) {
      if (line.trim() === '') continue;
      firstLine = line;
      break;
    }
  } catch (e) {
    throw new TraceError(o.file, 0, `cannot read: ${(e as Error).message}`);
  }
  if (firstLine === undefined) throw new TraceError(o.file, 1, 'empty file');
  if (isAzureInvocationsHeader(firstLine)) return readAzureInvocations(o);
  if (isAzureLlmHeader(firstLine)) return readAzureLlmTrace(o);
  const json = firstLine.trimStart().startsWith('{');
  if (json && isMooncakeLine(firstLine)) return readMooncakeTrace(o);
  return readGenericTrace(o, json || /\.(jsonl|ndjson)(\.gz)?$/i.test(o.file));
}
