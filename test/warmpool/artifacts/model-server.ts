import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const TINY = fileURLToPath(new URL('../../../runtime/models/tiny/', import.meta.url));

/** sha256 of the tiny model's model.json: what a deployment pins. */
export const TINY_SHA256 = createHash('sha256')
  .update(readFileSync(`${TINY}model.json`))
  .digest('hex');

export interface ModelServer {
  /** The model folder's URL (ends without a slash, as a deployment would write it). */
  readonly url: string;
  /** Requests answered so far, by path. */
  readonly requests: string[];
  /** Switches: serve weights.bin with one byte flipped, a model.json with another name, or 500s. */
  mode: 'ok' | 'tampered' | 'wrong-manifest' | 'fail';
  close(): Promise<void>;
}

/** Serves runtime/models/tiny over loopback HTTP under /models/tiny/. */
export async function startModelServer(): Promise<ModelServer> {
  const requests: string[] = [];
  const s: ModelServer = {
    url: '',
    requests,
    mode: 'ok',
    close: () => new Promise((res) => server.close(() => res())),
  };
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    requests.push(path);
    const m = /^\/models\/tiny\/([A-Za-z0-9._-]+)$/.exec(path);
    if (s.mode === 'fail' || !m) {
      res.writeHead(s.mode === 'fail' ? 500 : 404).end();
      return;
    }
    let body: Buffer;
    try {
      body = readFileSync(`${TINY}${m[1]}`);
    } catch {
      res.writeHead(404).end();
      return;
    }
    if (s.mode === 'tampered' && m[1] === 'weights.bin') {
      body = Buffer.from(body);
      body[body.length >> 1]! ^= 0xff;
    }
    if (s.mode === 'wrong-manifest' && m[1] === 'model.json')
      body = Buffer.from(body.toString('utf8').replace('"tiny-test"', '"tiny-other"'));
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const { port } = server.address() as AddressInfo;
  return Object.assign(s, { url: `http://127.0.0.1:${port}/models/tiny` });
}
