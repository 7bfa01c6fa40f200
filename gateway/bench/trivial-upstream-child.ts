/**
 * A runtime instance reduced to its protocol (node:http, no framework, for the least overhead): the
 * gateway and nginx are measured against the same upstream, one token per request.
 */
import { createServer, type ServerResponse } from 'node:http';

const LOAD = JSON.stringify({
  model: 'trivial',
  kind: 'generative',
  state: 'ready',
  running: 0,
  waiting: 0,
  kvUsagePct: 0,
  kvFreeBlocks: 0,
  kvTotalBlocks: 0,
  prefixHitRate: 0,
  prefixHitTokens: 0,
  prefixQueryTokens: 0,
  recentTokensPerSec: 0,
});
// Limits of the demo model: what a gateway checks a request against.
const METADATA = JSON.stringify({
  model: 'trivial',
  kind: 'generative',
  vocabSize: 257,
  contextLength: 1024,
  maxN: 8,
});
const TOKEN = '{"type":"token","index":0,"token":104,"text":"h","logprob":0,"top":[]}\n';

function json(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Prompt length in tokens as the byte-level model counts them. */
function promptTokens(body: string): number | null {
  try {
    const { prompt } = JSON.parse(body) as { prompt?: unknown };
    if (typeof prompt === 'string') return Buffer.byteLength(prompt);
    if (Array.isArray(prompt)) return prompt.length;
  } catch {
    // answered below
  }
  return null;
}

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    if (req.url === '/ready') return json(res, 200, '{"ready":true,"state":"ready"}');
    if (req.url === '/live') return json(res, 200, '{"status":"live","state":"ready"}');
    if (req.url === '/load') return json(res, 200, LOAD);
    if (req.url === '/metadata') return json(res, 200, METADATA);
  }
  if (req.method === 'POST' && req.url === '/generate') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = promptTokens(Buffer.concat(chunks).toString());
      if (n === null) {
        return json(res, 400, '{"error":{"code":"invalid_request","field":"prompt","message":"no prompt"}}');
      }
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'x-warmgate-load': LOAD });
      // Two writes, as the instance streams: the response is chunked, so proxies take their streaming path.
      res.write(TOKEN);
      res.end(
        `{"type":"finish","index":0,"reason":"length","text":"","promptTokens":${n},"completionTokens":1,"preemptions":0}\n`,
      );
    });
    return;
  }
  json(res, 404, '{"error":{"code":"not_found","message":"no such route"}}');
});
// Longer than any client's idle keep-alive (nginx 60 s, undici 4 s), so the server never closes a
// connection a proxy is about to reuse.
server.keepAliveTimeout = 75_000;
server.headersTimeout = 80_000;
server.listen(0, '127.0.0.1', () => {
  process.send!({ port: (server.address() as { port: number }).port });
});
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
