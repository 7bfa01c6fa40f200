import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors/index.ts';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Refuses a request without `Authorization: Bearer <token>` (401 unauthorized). */
export function bearerToken(token: string): MiddlewareHandler {
  if (token === '') throw new Error('the admin token must not be empty; without one the admin API is closed');
  const want = digest(token); // compared as digests: equal lengths, and the time taken says nothing
  return async function bearerToken(c, next) {
    const sent = /^Bearer +(\S+) *$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (sent === undefined || !timingSafeEqual(digest(sent), want)) {
      c.header('WWW-Authenticate', 'Bearer');
      throw new ApiError(
        'unauthorized',
        sent === undefined ? 'send the admin token as Authorization: Bearer' : 'the admin token is not valid',
      );
    }
    await next();
  };
}
