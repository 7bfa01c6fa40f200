import type { KeyRecord, KeyRequest } from './key-record.ts';

/** What a presented key turned out to be. Failures are values: they are the normal run of an API. */
export type KeyCheck =
  | { readonly ok: true; readonly record: KeyRecord }
  | { readonly ok: false; readonly code: 'api_key_invalid' | 'api_key_revoked' | 'auth_unavailable' };

/** Where keys live: hashes and limits, never secrets. */
export interface KeyStore {
  /** A new key; `key` is its secret, returned here once and nowhere else. */
  create(request: KeyRequest): Promise<{ record: KeyRecord; key: string }>;
  /** Every key, revoked ones included, oldest first. */
  list(): Promise<KeyRecord[]>;
  get(id: string): Promise<KeyRecord | undefined>;
  /** Marks the key revoked (kept for the record); a second call keeps the first time. Undefined if unknown. */
  revoke(id: string): Promise<KeyRecord | undefined>;
  /** The key a request presented: its record when it is known, matches and is not revoked. */
  verify(key: string): Promise<KeyCheck>;
  close(): Promise<void>;
}

export const byCreation = (a: KeyRecord, b: KeyRecord): number =>
  a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
