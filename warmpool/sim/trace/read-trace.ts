import { linesOf } from './lines.ts';
import { isAzureInvocationsHeader, readAzureInvocations } from './azure-invocations.ts';
import { readGenericTrace } from './generic.ts';
import { TraceError } from './trace-error.ts';
import type { Trace, TraceOptions } from './types.ts';

/** Reads a trace, choosing the reader from its first line (Azure invocations header, JSON, or CSV). */
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
  const jsonl = /\.(jsonl|ndjson)(\.gz)?$/i.test(o.file) || firstLine.trimStart().startsWith('{');
  return readGenericTrace(o, jsonl);
}
