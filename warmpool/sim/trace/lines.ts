import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * The lines of a text file, streamed, with their 1-based numbers; a trailing `\r` is dropped. Stopping
 * early (break) closes the file.
 */
export async function* linesOf(file: string): AsyncGenerator<{ line: string; n: number }> {
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
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
