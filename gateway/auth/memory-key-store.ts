import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Clock, systemClock } from '../../runtime/time/clock.ts';
import { writeFileAtomically } from '../deployments/atomic-write.ts';
import { apiKeyId, apiKeyMatches } from './api-key.ts';
import { type KeyRecord, type KeyRequest, newKeyRecord } from './key-record.ts';
import { byCreation, type KeyCheck, type KeyStore } from './key-store.ts';

export interface MemoryKeyStoreOptions {
  /** Where the keys persist (hashes only); without one they last as long as the process. */
  file?: string;
  /** Default systemClock. */
  clock?: Clock;
}

/** Keys of one gateway: in memory, written through to a JSON file when one is given. */
export class MemoryKeyStore implements KeyStore {
  readonly #keys = new Map<string, KeyRecord>();
  readonly #file: string | undefined;
  readonly #clock: Clock;
  #writing: Promise<void> = Promise.resolve();

  private constructor(o: MemoryKeyStoreOptions) {
    this.#file = o.file;
    this.#clock = o.clock ?? systemClock;
  }

  /** A store in memory only, for a gateway whose keys need not outlive it. */
  static inMemory(o: { clock?: Clock } = {}): MemoryKeyStore {
    return new MemoryKeyStore(o);
  }

  /** Opens the store, reading the file when it exists. */
  static async open(o: MemoryKeyStoreOptions = {}): Promise<MemoryKeyStore> {
    const store = new MemoryKeyStore(o);
    if (o.file !== undefined) {
      let text: string | null = null;
      try {
        text = await readFile(o.file, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      if (text !== null) {
        for (const r of JSON.parse(text) as KeyRecord[]) store.#keys.set(r.id, r);
      }
    }
    return store;
  }

  async create(request: KeyRequest): Promise<{ record: KeyRecord; key: string }> {
    const { record, key } = newKeyRecord(request, this.#clock.now());
    this.#keys.set(record.id, record);
    await this.#save();
    return { record, key };
  }

  list(): Promise<KeyRecord[]> {
    return Promise.resolve([...this.#keys.values()].sort(byCreation));
  }

  get(id: string): Promise<KeyRecord | undefined> {
    return Promise.resolve(this.#keys.get(id));
  }

  async revoke(id: string): Promise<KeyRecord | undefined> {
    const r = this.#keys.get(id);
    if (r === undefined || r.revokedAt !== null) return r;
    const revoked = { ...r, revokedAt: this.#clock.now() };
    this.#keys.set(id, revoked);
    await this.#save();
    return revoked;
  }

  verify(key: string): Promise<KeyCheck> {
    return Promise.resolve(checkKey(key, (id) => this.#keys.get(id)));
  }

  async close(): Promise<void> {
    await this.#writing;
  }

  /** Writes in order, each write the whole set as it is then. */
  #save(): Promise<void> {
    const file = this.#file;
    if (file === undefined) return Promise.resolve();
    const write = async () => {
      await mkdir(dirname(file), { recursive: true });
      await writeFileAtomically(file, `${JSON.stringify([...this.#keys.values()], null, 2)}\n`);
    };
    this.#writing = this.#writing.then(write, write);
    return this.#writing;
  }
}

/** The check both stores make once they have the record the key's id names. */
export function checkKey(key: string, find: (id: string) => KeyRecord | null | undefined): KeyCheck {
  const id = apiKeyId(key);
  const record = id === null ? undefined : find(id);
  if (!record || !apiKeyMatches(key, record.hash)) return { ok: false, code: 'api_key_invalid' };
  if (record.revokedAt !== null) return { ok: false, code: 'api_key_revoked' };
  return { ok: true, record };
}
