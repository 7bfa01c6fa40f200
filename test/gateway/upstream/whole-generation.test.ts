import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApiError } from '../../../gateway/errors/index.ts';
import { UpstreamInstance } from '../../../gateway/instances/index.ts';
import { generateWhole, RetryableUpstreamError } from '../../../gateway/upstream/index.ts';

type Answer = (req: IncomingMessage, res: ServerResponse) => void;

const TOKEN = '{"type":"token","index":0,"token":104,"text":"h","logprob":-0.5,"top":[]}\n';
const FINISH =
  '{"type":"finish","index":0,"reason":"length","text":"","promptTokens":5,"completionTokens":1,"preemptions":0}\n';
const BODY = { prompt: 'hello', params: { maxTokens: 1 } };

/** A signal the test aborts by hand, shaped as the gateway's client signal. */
function manualSignal() {
  const c = new AbortController();
  return { signal: c.signal, abort: (reason: Error) => c.abort(reason) };
}

// The instance is a mock: a node:http server scripted per test (the NDJSON events, errors and stalls a
// real instance sends), so that each wire-level case can be produced on demand.
describe('generateWhole against a scripted mock instance (a non-streaming generation read whole over a raw undici handler)', () => {
  let server: Server;
  let inst: UpstreamInstance;
  let answer: Answer;
  let bodies: string[];
  let closed: Promise<void>;
  let onClosed: () => void;

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString());
        res.on('close', () => onClosed());
        answer(req, res);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    inst = new UpstreamInstance({ id: 'i1', deployment: 'd', url: `http://127.0.0.1:${port}` });
  });
  after(async () => {
    await inst.close();
    server.closeAllConnections();
    server.close();
  });
  beforeEach(() => {
    bodies = [];
    closed = new Promise((r) => (onClosed = r));
  });

  it('posts the body as JSON and returns every event, written in pieces, in order', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'x-warmgate-load': '{"waiting":3}' });
      res.write(TOKEN.slice(0, 10));
      res.write(TOKEN.slice(10) + FINISH.slice(0, 20));
      res.end(FINISH.slice(20));
    };
    const events = await generateWhole(inst, BODY, { signal: manualSignal().signal });
    assert.deepEqual(JSON.parse(bodies[0]!), BODY);
    assert.deepEqual(
      events.map((e) => e.type),
      ['token', 'finish'],
    );
    assert.deepEqual(events[1], JSON.parse(FINISH));
    assert.equal(inst.load.waiting, 3, 'the load header is taken');
  });

  it("turns an instance's 4xx error body into the gateway's ApiError with the same code", async () => {
    answer = (_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"invalid_sampling_params","field":"n","message":"n too large"}}');
    };
    const e = await generateWhole(inst, BODY, { signal: manualSignal().signal }).catch((x) => x);
    assert.ok(e instanceof ApiError);
    assert.equal(e.code, 'invalid_sampling_params');
    assert.equal(e.param, 'n');
  });

  it('refusals before an answer (5xx, 429, draining) are retryable on another instance', async () => {
    answer = (_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"engine_draining","message":"draining"}}');
    };
    const e = await generateWhole(inst, BODY, { signal: manualSignal().signal }).catch((x) => x);
    assert.ok(e instanceof RetryableUpstreamError);
    assert.equal(e.draining, true);
  });

  it('an unreachable instance is retryable', async () => {
    const gone = new UpstreamInstance({ id: 'gone', deployment: 'd', url: 'http://127.0.0.1:1' });
    try {
      const e = await generateWhole(gone, BODY, { signal: manualSignal().signal }).catch((x) => x);
      assert.ok(e instanceof RetryableUpstreamError, String(e));
      assert.equal(e.draining, false);
    } finally {
      await gone.close();
    }
  });

  it('a body cut after the 200 is upstream_failed, not retryable', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(TOKEN);
      setImmediate(() => res.socket?.destroy());
    };
    const e = await generateWhole(inst, BODY, { signal: manualSignal().signal }).catch((x) => x);
    assert.ok(e instanceof ApiError, String(e));
    assert.equal(e.code, 'upstream_failed');
  });

  it('a body that is not NDJSON is upstream_failed', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end('{"type":"tok');
    };
    const e = await generateWhole(inst, BODY, { signal: manualSignal().signal }).catch((x) => x);
    assert.ok(e instanceof ApiError);
    assert.equal(e.code, 'upstream_failed');
  });

  it('the client leaving tears the upstream request down and rejects with its reason', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(TOKEN); // and never ends
    };
    const { signal, abort } = manualSignal();
    const pending = generateWhole(inst, BODY, { signal });
    while (bodies.length === 0) await new Promise((r) => setImmediate(r));
    const reason = new Error('the client closed the connection');
    abort(reason);
    await assert.rejects(pending, (e) => e === reason);
    await closed; // the instance sees its response's connection close
  });

  it('a client already gone sends nothing', async () => {
    answer = () => assert.fail('the instance must not be called');
    const { signal, abort } = manualSignal();
    const reason = new Error('gone');
    abort(reason);
    await assert.rejects(generateWhole(inst, BODY, { signal }), (e) => e === reason);
    assert.equal(bodies.length, 0);
  });
});
