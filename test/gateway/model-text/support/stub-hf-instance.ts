// A stand-in for a runtime instance of an imported model, for tests of the gateway's tokenizer workers:
// it serves a real model's tokenizer files on GET /tokenizer (Llama 3's 9 MB tokenizer.json, which no
// fixture checkpoint has: their vocabularies are tiny) and answers POST /generate with a finish event,
// keeping the prompts it was sent. The body is served as the files' bytes, never parsed here: the test
// process also runs the gateway, whose event loop it must not stall.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface StubHfInstance {
  readonly url: string;
  /** The ServedTokenizer id: the sha256 of the /tokenizer body. */
  readonly tokenizerId: string;
  /** The prompts of the POST /generate requests, in arrival order. */
  readonly prompts: unknown[];
  /** How many GET /tokenizer requests came. */
  tokenizerFetches(): number;
  close(): Promise<void>;
}

/** Serves the tokenizer.json and tokenizer_config.json of `dir` (a Hugging Face model folder). */
export async function startStubHfInstance(dir: string, vocabSize: number): Promise<StubHfInstance> {
  const [tokenizer, config] = await Promise.all([
    readFile(join(dir, 'tokenizer.json')),
    readFile(join(dir, 'tokenizer_config.json')),
  ]);
  const body = Buffer.concat([
    Buffer.from('{"tokenizer":'),
    tokenizer,
    Buffer.from(',"tokenizerConfig":'),
    config,
    Buffer.from('}'),
  ]);
  const tokenizerId = createHash('sha256').update(body).digest('hex');
  const prompts: unknown[] = [];
  let fetches = 0;
  const json = (value: unknown) => JSON.stringify(value);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/load') {
        res.end(json({ model: 'stub', kind: 'generative', state: 'ready', outstanding: 0 }));
      } else if (req.url === '/metadata') {
        res.end(
          json({
            model: 'stub',
            kind: 'generative',
            vocabSize,
            contextLength: 1 << 20,
            maxN: 1,
            tokenizer: { type: 'huggingface', id: tokenizerId },
          }),
        );
      } else if (req.url === '/tokenizer') {
        fetches++;
        res.writeHead(200, { 'content-type': 'application/json', etag: `"${tokenizerId}"` });
        res.end(body);
      } else if (req.url === '/generate') {
        const { prompt } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { prompt: unknown };
        prompts.push(prompt);
        const promptTokens = Array.isArray(prompt) ? prompt.length : 0;
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.end(
          `${json({ type: 'finish', index: 0, reason: 'length', text: '', promptTokens, completionTokens: 0, preemptions: 0 })}\n`,
        );
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tokenizerId,
    prompts,
    tokenizerFetches: () => fetches,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
