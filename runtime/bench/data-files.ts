import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { repoRoot } from './repo-root.ts';

/**
 * The repository's shipped data (data/README.md: sources, licences) and a reader for it. Files ending in
 * `.gz` are gunzipped while they stream, so the repository stays small and callers never care.
 */

const dataDir = join(repoRoot(), 'data');

/** Absolute paths of the files in data/, the defaults of the benchmarks, the simulator and the soak run. */
export const DATA = Object.freeze({
  azureFunctionsInvocations: join(dataDir, 'traces/azure_functions_2019_invitro1000_invocations.csv.gz'),
  azureFunctionsDurations: join(dataDir, 'traces/azure_functions_2019_invitro1000_durations.csv.gz'),
  azureLlmConv: join(dataDir, 'traces/azure_llm_2023_conv.csv.gz'),
  mooncakeConversation: join(dataDir, 'traces/mooncake_conversation_trace.jsonl.gz'),
  tinyShakespeare: join(dataDir, 'corpus/tinyshakespeare.txt.gz'),
});

/** The file's bytes as a stream, gunzipped on the way when its name ends in `.gz`. */
function open(path: string): Readable {
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  if (!path.endsWith('.gz')) return file;
  const gunzip = createGunzip();
  file.on('error', (e) => gunzip.destroy(e));
  gunzip.on('close', () => file.destroy());
  return file.pipe(gunzip);
}

/** The whole file as text (UTF-8). */
export async function readText(path: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of open(path)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The whole file as bytes. */
export async function readBytes(path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of open(path)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The lines of a text file, streamed, with their 1-based numbers; a trailing `\r` is dropped. Stopping
 * early (break) closes the file, so reading the first rows of a large trace reads little of it.
 */
export async function* linesOf(path: string): AsyncGenerator<{ line: string; n: number }> {
  const stream = open(path);
  stream.setEncoding('utf8');
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of rl) {
      n++;
      yield { line, n };
    }
  } finally {
    rl.close();
    stream.destroy();
  }
}
