/** The gateway's admin API (/admin/v1) as the CLI calls it. */

/** The admin API refused a call: its status and catalog code (README: Errors), printed on one line. */
export class AdminApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The gateway could not be reached at all (not running, wrong --url). */
export class GatewayUnreachable extends Error {}

export interface AdminClientOptions {
  /** The gateway's base URL, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  /** The admin token; '' or undefined sends none. */
  readonly token?: string;
}

export class AdminClient {
  readonly #url: string;
  readonly #base: string;
  readonly #token: string | undefined;

  constructor(o: AdminClientOptions) {
    this.#url = o.url.replace(/\/+$/, '');
    this.#base = `${this.#url}/admin/v1`;
    this.#token = o.token || undefined;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  /** Sends `body` as JSON; answers the parsed body (null for an empty one). */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await this.exchange<T>(method, path, body)).body;
  }

  /** As call(), with the status (201 created, 200 replaced). Throws AdminApiError for a refusal. */
  async exchange<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    let res: Response;
    try {
      res = await fetch(`${this.#base}${path}`, {
        method,
        headers: {
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...(this.#token && { authorization: `Bearer ${this.#token}` }),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new GatewayUnreachable(
        `cannot reach the gateway at ${this.#url} (${cause?.code ?? cause?.message ?? (e as Error).message}); start it, or point --url (WARMGATE_URL) at it`,
      );
    }
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      if (res.ok) throw new Error(`${method} ${path} answered ${res.status} with a body that is not JSON`);
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
      const hint = res.status === 401 && !this.#token ? ' (pass --token or set WARMGATE_ADMIN_TOKEN)' : '';
      const message = e?.message ?? text.slice(0, 200);
      throw new AdminApiError(
        res.status,
        e?.code ?? 'unknown',
        `${res.status} ${e?.code ?? res.statusText}: ${message}${hint}`,
      );
    }
    return { status: res.status, body: parsed as T };
  }
}
