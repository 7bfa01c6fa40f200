/** Parses newline-delimited JSON from a byte stream, yielding each value as its line completes. */
export async function* ndjson<T>(body: AsyncIterable<Buffer | Uint8Array>): AsyncGenerator<T> {
  let pending: Buffer[] = [];
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    let start = 0;
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
      pending.push(buf.subarray(start, nl));
      const line = Buffer.concat(pending).toString('utf8');
      pending = [];
      start = nl + 1;
      if (line.trim()) yield JSON.parse(line) as T;
    }
    if (start < buf.length) pending.push(buf.subarray(start));
  }
  const rest = Buffer.concat(pending).toString('utf8');
  if (rest.trim()) yield JSON.parse(rest) as T;
}
