import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A key as clients send it: `wg_<id>_<secret>`, the id public (it names the key), the secret random. */
const KEY_SHAPE = /^wg_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface NewKey {
  readonly id: string;
  /** The whole key, shown once at creation and never stored. */
  readonly key: string;
  /** What is stored instead of the key. */
  readonly hash: string;
}

/** A fresh key: a 48-bit id and a 256-bit secret from the system's CSPRNG. */
export function newApiKey(): NewKey {
  const id = randomBytes(6).toString('hex');
  const key = `wg_${id}_${randomBytes(32).toString('base64url')}`;
  return { id, key, hash: hashApiKey(key) };
}

/** The key's id, or null when the text is not shaped like a warmgate key. Nothing secret is read. */
export function apiKeyId(key: string): string | null {
  return KEY_SHAPE.exec(key)?.[1] ?? null;
}

/**
 * SHA-256 of the whole key, hex. A fast hash is the right one here, unlike for passwords: the secret is
 * 256 random bits, so there is no dictionary to try and a slow hash (bcrypt, scrypt) would only add
 * milliseconds to every request. The hash keeps a leaked store from being usable as keys.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Whether `key` hashes to `hash`, in time that does not depend on where they differ. */
export function apiKeyMatches(key: string, hash: string): boolean {
  const want = Buffer.from(hash, 'hex');
  const got = createHash('sha256').update(key).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}
