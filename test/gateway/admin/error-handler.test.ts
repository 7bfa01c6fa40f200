import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { ApiError, apiErrorHandler } from '../../../gateway/errors/index.ts';

/** An app whose routes fail in each way a gateway route can, answered by apiErrorHandler. */
function app(format: 'openai' | 'kserve', logged: unknown[] = []): Hono {
  const a = new Hono();
  a.get('/api-error', () => {
    throw new ApiError('queue_full', 'the queue for m is full', { retryAfter: 1.5 });
  });
  a.get('/param', () => {
    throw new ApiError('invalid_request', "'x' must be string", { param: 'x' });
  });
  a.post('/json', async (c) => c.json(await c.req.json()));
  a.get('/hono-json', () => {
    throw new HTTPException(400, { message: 'Malformed JSON in request body' });
  });
  a.get('/hono-400', () => {
    throw new HTTPException(400, { message: 'bad query' });
  });
  a.post('/limited', bodyLimit({ maxSize: 4 }), (c) => c.text('ok'));
  a.get('/teapot', () => {
    throw new HTTPException(418, { message: 'short and stout' });
  });
  a.get('/bug', () => {
    throw new Error('secret detail from deep inside');
  });
  return a.onError(apiErrorHandler(format, { log: (_m, e) => void logged.push(e) }));
}

describe('apiErrorHandler', () => {
  it('answers an ApiError with its catalog status, OpenAI body and Retry-After', async () => {
    const res = await app('openai').request('/api-error');
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '2');
    assert.deepEqual(await res.json(), {
      error: { message: 'the queue for m is full', type: 'server_error', param: null, code: 'queue_full' },
    });
    const p = await app('openai').request('/param');
    assert.equal(p.status, 400);
    assert.equal(((await p.json()) as { error: { param: string } }).error.param, 'x');
  });

  it('answers in the KServe v2 shape for kserve routes', async () => {
    const res = await app('kserve').request('/api-error');
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { error: 'the queue for m is full', code: 'queue_full' });
  });

  it("maps bad JSON, from c.req.json() or Hono's HTTPException, to invalid_json", async () => {
    const bad = await app('openai').request('/json', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":',
    });
    assert.equal(bad.status, 400);
    const body = (await bad.json()) as { error: { code: string; type: string } };
    assert.equal(body.error.code, 'invalid_json');
    assert.equal(body.error.type, 'invalid_request_error');
    const hono = await app('kserve').request('/hono-json');
    assert.equal(hono.status, 400);
    assert.deepEqual(await hono.json(), { error: 'Malformed JSON in request body', code: 'invalid_json' });
    const other = await app('kserve').request('/hono-400');
    assert.deepEqual(await other.json(), { error: 'bad query', code: 'invalid_request' });
  });

  it("maps Hono's body limit to body_too_large, and leaves a status it has no code for alone", async () => {
    const big = await app('openai').request('/limited', { method: 'POST', body: 'more than four bytes' });
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { error: { code: string } }).error.code, 'body_too_large');
    const teapot = await app('openai').request('/teapot');
    assert.equal(teapot.status, 418);
    assert.equal(await teapot.text(), 'short and stout');
  });

  it('answers anything else with a logged 500 that reveals nothing', async () => {
    const logged: unknown[] = [];
    const res = await app('openai', logged).request('/bug');
    assert.equal(res.status, 500);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'internal_error');
    assert.doesNotMatch(body.error.message, /secret/);
    assert.equal(logged.length, 1);
    assert.match((logged[0] as Error).message, /secret detail/);
  });
});
