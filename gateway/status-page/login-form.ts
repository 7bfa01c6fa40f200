import { esc } from './html-escape.ts';
import { PAGE_STYLE } from './page-style.ts';

/**
 * What /status answers without a valid admin token: a form that takes one (POST /status/login keeps it
 * in a cookie for /status only), and no data at all.
 */
export function loginForm(problem: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>warmgate status: sign in</title><style>${PAGE_STYLE}</style></head><body>
<h1>warmgate status</h1>
<p id="login-problem" class="muted">${esc(problem)}</p>
<form id="login" method="post" action="/status/login">
<label>Admin token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button>Sign in</button></form></body></html>`;
}

/** The gateway has no admin token: the page is closed as the admin API is. */
export function closedPage(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>warmgate status</title><style>${PAGE_STYLE}</style></head><body>
<h1>warmgate status</h1><p>The status page is closed: start the gateway with WARMGATE_ADMIN_TOKEN set.</p></body></html>`;
}
