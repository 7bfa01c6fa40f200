import { createHash, randomBytes } from 'node:crypto';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { checkManifest, type ModelManifest } from '../../runtime/model/index.ts';
import { type ArtifactError, type ArtifactResult, short } from './artifact-error.ts';
import { download, type DownloadLimits } from './download.ts';

export interface UrlArtifact {
  /** A model folder served over HTTP(S); model.json is read from `${url}/model.json`. */
  readonly url: string;
  /** sha256 of that model.json, which pins every other file by its own sha256. */
  readonly sha256: string;
}

export interface ArtifactCacheOptions {
  /** Root of the cache; each model lives in `<dir>/<sha256>`. Default: defaultCacheDir(). */
  readonly dir?: string;
  /** Per-request headers and idle-body timeout. Default 30 s. */
  readonly timeoutMs?: number;
  /** Cap on model.json. Default 1 MiB. */
  readonly maxManifestBytes?: number;
  /** Cap on each listed file. Default 8 GiB. */
  readonly maxFileBytes?: number;
}

/** `${XDG_CACHE_HOME or ~/.cache}/warmgate/models`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'warmgate', 'models');
}

const fail = (code: ArtifactError['code'], message: string): ArtifactResult => ({
  ok: false,
  error: { code, message },
});

const sha256Of = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Makes URL artifacts local folders, verified and cached by model.json's sha256. Concurrent resolutions
 * of one artifact share one download; across processes the atomic rename picks one copy.
 */
export class ArtifactCache {
  readonly dir: string;
  readonly #manifestLimits: DownloadLimits;
  readonly #fileLimits: DownloadLimits;
  readonly #inFlight = new Map<string, Promise<ArtifactResult>>();

  constructor(o: ArtifactCacheOptions = {}) {
    this.dir = o.dir ?? defaultCacheDir();
    const timeoutMs = o.timeoutMs ?? 30_000;
    this.#manifestLimits = { timeoutMs, maxBytes: o.maxManifestBytes ?? 2 ** 20 };
    this.#fileLimits = { timeoutMs, maxBytes: o.maxFileBytes ?? 8 * 2 ** 30 };
  }

  resolve(a: UrlArtifact): Promise<ArtifactResult> {
    const key = a.sha256.toLowerCase();
    let p = this.#inFlight.get(key);
    if (!p) {
      p = this.#resolve({ url: a.url, sha256: key }).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, p);
    }
    return p;
  }

  async #resolve(a: UrlArtifact): Promise<ArtifactResult> {
    let u: URL;
    try {
      u = new URL(a.url);
    } catch {
      return fail('artifact_unreachable', `${a.url} is not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      return fail('artifact_unreachable', `${a.url}: only http: and https: URLs are fetched`);
    if (!/^[0-9a-f]{64}$/.test(a.sha256))
      return fail('artifact_mismatch', `sha256 ${a.sha256} is not 64 hex characters`);
    const final = join(this.dir, a.sha256);
    if (await this.#complete(final, a.sha256)) return { ok: true, dir: final, downloaded: false };
    // A leftover that is not a complete copy (hand-edited, older layout): replaced below.
    await rm(final, { recursive: true, force: true });

    const base = new URL(u.href.endsWith('/') ? u.href : `${u.href}/`);
    const manifestUrl = new URL('model.json', base).href;
    const got = await download(manifestUrl, undefined, this.#manifestLimits);
    if (!got.ok) return got;
    if (got.sha256 !== a.sha256)
      return fail(
        'artifact_mismatch',
        `${manifestUrl} has sha256 ${short(got.sha256)}, the deployment pins ${short(a.sha256)}`,
      );
    let parsed: unknown;
    try {
      parsed = JSON.parse(got.body!.toString('utf8'));
    } catch (e) {
      return fail('artifact_corrupt', `${manifestUrl} is not JSON: ${(e as Error).message}`);
    }
    const check = checkManifest(parsed);
    if (!check.ok) return fail('artifact_corrupt', `${manifestUrl} is invalid: ${check.problems.join('; ')}`);

    await mkdir(this.dir, { recursive: true });
    // The temp folder sits in the cache dir so the final rename stays on one file system (atomic).
    const tmp = join(
      this.dir,
      `.tmp-${a.sha256.slice(0, 12)}-${process.pid}-${randomBytes(4).toString('hex')}`,
    );
    try {
      await mkdir(tmp);
      for (const f of files(check.manifest)) {
        const fileUrl = new URL(f.path, base).href;
        const r = await download(fileUrl, join(tmp, f.path), this.#fileLimits);
        if (!r.ok) return r;
        if (r.sha256 !== f.sha256)
          return fail(
            'artifact_corrupt',
            `${fileUrl} has sha256 ${short(r.sha256)}, model.json expects ${short(f.sha256)}`,
          );
      }
      await writeFile(join(tmp, 'model.json'), got.body!);
      try {
        await rename(tmp, final);
      } catch (e) {
        // Another process renamed its copy first: keep theirs, ours is discarded in finally.
        const code = (e as NodeJS.ErrnoException).code;
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !(await this.#complete(final, a.sha256))) throw e;
      }
      return { ok: true, dir: final, downloaded: true };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** A folder is complete when its model.json has the pinned hash and every listed file is there. */
  async #complete(dir: string, sha256: string): Promise<boolean> {
    let raw: Buffer;
    try {
      raw = await readFile(join(dir, 'model.json'));
    } catch {
      return false;
    }
    if (sha256Of(raw) !== sha256) return false;
    const check = checkManifest(JSON.parse(raw.toString('utf8')));
    if (!check.ok) return false;
    try {
      await Promise.all(files(check.manifest).map((f) => access(join(dir, f.path))));
      return true;
    } catch {
      return false;
    }
  }
}

const files = (m: ModelManifest) => Object.values(m.files).filter((f) => f !== undefined);
