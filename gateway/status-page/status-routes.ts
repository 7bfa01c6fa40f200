import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { closedPage, loginForm } from './login-form.ts';
import { renderMain, renderPage } from './render-page.ts';
import type { StatusSummary } from './status-data.ts';

export const TOKEN_COOKIE = 'warmgate_admin';

export interface StatusPageOptions {
  /** The admin API's token; without one the page is closed (403), as the admin API is. */
  readonly token?: string;
  /** The numbers of one page of deployments (status-data.ts gatherStatus, bound to the gateway). */
  readonly gather: (query: URLSearchParams) => Promise<StatusSummary>;
}

/** Only same-origin parts: nothing external loads even if a name on the page tried to. */
const CSP =
  "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; img-src data:; base-uri 'none'; frame-ancestors 'none'";

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * GET /status (the page; `fragment=1`: its <main> only, for the refresh) and POST /status/login. The
 * admin token is taken from `Authorization: Bearer` as on the admin API, or from the cookie the login
 * form sets; without a valid one the answer is 401 with the form, never data.
 */
export function statusRoutes(o: StatusPageOptions): Hono {
  const app = new Hono();
  const want = o.token ? digest(o.token) : null;
  const valid = (sent: string | undefined) =>
    want !== null && sent !== undefined && timingSafeEqual(digest(sent), want);
  const html = (c: Context, body: string, status: 200 | 401 | 403) => {
    c.header('Content-Security-Policy', CSP);
    c.header('Cache-Control', 'no-store');
    c.header('X-Content-Type-Options', 'nosniff');
    return c.html(body, status);
  };

  app.get('/', async (c) => {
    if (want === null) return html(c, closedPage(), 403);
    const bearer = /^Bearer +(\S+) *$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const sent = bearer ?? getCookie(c, TOKEN_COOKIE);
    if (!valid(sent)) {
      c.header('WWW-Authenticate', 'Bearer');
      return html(
        c,
        loginForm(sent === undefined ? 'Sign in with the admin token.' : 'That admin token is not valid.'),
        401,
      );
    }
    const params = new URL(c.req.url).searchParams;
    const summary = await o.gather(params);
    return html(c, params.get('fragment') === '1' ? renderMain(summary) : renderPage(summary), 200);
  });

  app.post('/login', async (c) => {
    if (want === null) return html(c, closedPage(), 403);
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const token = typeof form['token'] === 'string' ? form['token'] : undefined;
    if (!valid(token)) return html(c, loginForm('That admin token is not valid.'), 401);
    // HttpOnly: the page's script never reads it; Strict: no other site's form sends it.
    setCookie(c, TOKEN_COOKIE, token!, {
      path: '/status',
      httpOnly: true,
      sameSite: 'Strict',
      secure: new URL(c.req.url).protocol === 'https:',
    });
    return c.redirect('/status', 303);
  });
  return app;
}
