import type { Context } from 'hono';
import { ApiError } from '../errors/index.ts';

const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/** The request body as JSON: 415 unsupported_media_type unless it says it is JSON, 400 invalid_json if it is not. */
export async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header('content-type');
  if (type === undefined || !JSON_TYPE.test(type)) {
    throw new ApiError(
      'unsupported_media_type',
      `send Content-Type: application/json (the request has ${type === undefined ? 'none' : `'${type}'`})`,
    );
  }
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError('invalid_json', `the body is not valid JSON: ${(e as Error).message}`);
  }
}
