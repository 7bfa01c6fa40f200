// A loopback HTTP proxy in front of one runtime instance: it passes every request on as it is and keeps
// what went through, so a test sees what the gateway sent (the /generate bodies, how often it fetched
// /tokenizer). It can answer the next requests of a path itself with a failure, as an instance in
// trouble would.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Passed {
  readonly method: string;
  readonly path: string;
  readonly body: string;
}

export interface RecordingProxy {
  readonly url: string;
  /** Every request, in arrival order. */
  readonly passed: Passed[];
  /** The JSON bodies of the POST /generate requests. */
  generateBodies(): { prompt: unknown; params?: unknown }[];
  /** How many requests went to `path`. */
  count(path: string): number;
  /** The next `times` requests to `path` are answered 500 here, not passed on. */
  failNext(path: string, times: number): void;
  close(): Promise<void>;
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const to = new URL(target);
  const passed: Passed[] = [];
  const failing = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = req.url ?? '/';
      passed.push({ method: req.method ?? 'GET', path, body: body.toString('utf8') });
      const fails = failing.get(path) ?? 0;
      if (fails > 0) {
        failing.set(path, fails - 1);
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'internal_error', message: 'failed by the test proxy' } }));
        return;
      }
      const out = request(
        { host: to.hostname, port: to.port, path, method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      res.on('close', () => out.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    passed,
    generateBodies: () =>
      passed
        .filter((p) => p.method === 'POST' && p.path === '/generate')
        .map((p) => JSON.parse(p.body) as { prompt: unknown; params?: unknown }),
    count: (path) => passed.filter((p) => p.path === path).length,
    failNext(path, times) {
      failing.set(path, times);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
