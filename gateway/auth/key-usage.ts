export interface KeyUsage {
  /** Generative requests recorded with this key. */
  requests: number;
  /** Their prompt and completion tokens. */
  tokens: number;
}

/**
 * What each API key used at this gateway replica since it started (requests and tokens of the
 * generations it recorded), for the admin's status page. In memory: the limiter's Redis windows hold
 * the shared counts the limits are enforced on.
 */
export class KeyUsageTally {
  readonly #byKey = new Map<string, KeyUsage>();

  add(keyId: string, tokens: number): void {
    const u = this.#byKey.get(keyId);
    if (u) {
      u.requests++;
      u.tokens += tokens;
    } else this.#byKey.set(keyId, { requests: 1, tokens });
  }

  of(keyId: string): KeyUsage {
    const u = this.#byKey.get(keyId);
    return { requests: u?.requests ?? 0, tokens: u?.tokens ?? 0 };
  }
}
