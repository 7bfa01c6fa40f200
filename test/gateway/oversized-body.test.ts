import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { LINGER_IDLE_MS, LINGER_MAX_BYTES, LINGER_MAX_MS } from '../../runtime/http/lingering-close.ts';
import { type RunningGateway, startGateway } from '../../gateway/server/index.ts';

// The real gateway over loopback, at its default 4 MiB body limit; the body is refused before any
// deployment is looked up, so none is needed.
const TWELVE_MB = 12 * 2 ** 20;

describe('a client that sends an oversized body reads the 413', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway({ port: 0 });
  });
  after(() => gw?.close());

  const bigPrompt = () => JSON.stringify({ model: 'any', prompt: 'x'.repeat(TWELVE_MB) });

  it('fetch, with a declared Content-Length', async () => {
    const res = await fetch(`${gw.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: bigPrompt(),
    });
    assert.equal(res.status, 413);
    assert.equal(res.headers.get('connection'), 'close');
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'body_too_large');
  });

  it('fetch, with a chunked body (counted as it arrives)', async () => {
    const chunk = new Uint8Array(2 ** 20).fill(0x78);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"model":"any","prompt":"'));
        if (sent >= TWELVE_MB) {
          controller.enqueue(new TextEncoder().encode('"}'));
          controller.close();
          return;
        }
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(`${gw.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'body_too_large');
  });

  it('the openai client', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    await assert.rejects(
      client.completions.create({ model: 'any', prompt: 'x'.repeat(TWELVE_MB) }),
      (e: unknown) => {
        assert.ok(e instanceof OpenAI.APIError, `an API error, not a connection error: ${String(e)}`);
        assert.equal(e.status, 413);
        assert.equal(e.code, 'body_too_large');
        return true;
      },
    );
  });

  /**
   * A raw client that declares a 1 GiB body, then sends per `send` and keeps its side open after the
   * server's FIN, as one still sending would: what it read, what it wrote, and how long after the answer
   * its connection was reset (found by writing to it).
   */
  const declareHuge = (send: 'flood' | 'trickle' | 'pause') =>
    new Promise<{ answer: string; written: number; closedAfterMs: number }>((resolve, reject) => {
      const { port } = new URL(gw.url);
      const s = connect({ port: Number(port), host: '127.0.0.1', allowHalfOpen: true });
      let answer = '';
      let written = 0;
      let answeredAt = 0;
      const flood = Buffer.alloc(64 * 1024, 0x78);
      const pump = () => {
        while (!s.destroyed && s.write(flood)) written += flood.length;
        if (!s.destroyed) written += flood.length;
      };
      const every = (ms: number, bytes: number) =>
        setInterval(() => {
          if (!s.destroyed) s.write(Buffer.alloc(bytes, 0x78));
        }, ms);
      let timer: NodeJS.Timeout | undefined;
      s.on('connect', () => {
        s.write(
          'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
            `Content-Length: ${2 ** 30}\r\n\r\n`,
        );
        if (send === 'flood') {
          s.on('drain', pump);
          pump();
        } else if (send === 'trickle') timer = every(50, 1024);
        // 'pause': silent past the idle bound, then a byte now and then to find out whether it was closed
        else setTimeout(() => (timer = every(100, 1)), LINGER_IDLE_MS + 500);
      });
      s.on('data', (d) => {
        if (answeredAt === 0) answeredAt = performance.now();
        answer += d.toString('latin1');
      });
      s.on('error', () => undefined); // the reset of a closed connection
      s.on('close', () => {
        clearInterval(timer);
        if (answeredAt === 0) return reject(new Error('closed before any answer'));
        resolve({ answer, written, closedAfterMs: performance.now() - answeredAt });
      });
    });

  it('a client that reads only once its whole body is sent still reads the 413', async () => {
    // Closing with the body still arriving resets the connection, and a reset throws away what the
    // client had not read yet: the 413 itself. Lingering reads the body first.
    const { port } = new URL(gw.url);
    const body = Buffer.from(bigPrompt());
    const answer = await new Promise<string>((resolve, reject) => {
      const s = connect({ port: Number(port), host: '127.0.0.1' });
      let out = '';
      s.pause();
      s.on('connect', () => {
        s.write(
          'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
            `Content-Length: ${body.length}\r\n\r\n`,
        );
        s.write(body, () => s.resume());
      });
      s.on('data', (d) => (out += d.toString('latin1')));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, /"code":"body_too_large"/);
  });

  it('a client that stops sending is closed after the idle bound', async () => {
    const r = await declareHuge('pause');
    assert.match(r.answer, /^HTTP\/1\.1 413 /);
    assert.match(r.answer, /"code":"body_too_large"/);
    // Found closed by the first writes after the pause (1.5 s), well before the time bound.
    assert.ok(r.closedAfterMs < LINGER_MAX_MS, `closed after ${r.closedAfterMs} ms`);
  });

  it('a client that keeps sending slowly is read until the time bound, then closed', async () => {
    const r = await declareHuge('trickle');
    assert.match(r.answer, /^HTTP\/1\.1 413 /);
    assert.ok(r.closedAfterMs >= LINGER_MAX_MS - 100, `closed after ${r.closedAfterMs} ms`);
    assert.ok(r.closedAfterMs < LINGER_MAX_MS + 3000, `closed after ${r.closedAfterMs} ms`);
  });

  it('a client that floods is read up to the byte bound, then cut off', async () => {
    const r = await declareHuge('flood');
    assert.match(r.answer, /^HTTP\/1\.1 413 /);
    // More than socket buffers hold: the server went on reading; but not much more than the bound
    // (what sat in the two loopback socket buffers when it closed).
    assert.ok(r.written > LINGER_MAX_BYTES, `${r.written} bytes written`);
    assert.ok(r.written < LINGER_MAX_BYTES + 32 * 2 ** 20, `${r.written} bytes written`);
  });
});
