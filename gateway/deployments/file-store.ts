import { mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { writeFileAtomically } from './atomic-write.ts';
import type { DeploymentSpec } from './spec.ts';
import { checkVersionedDeployment as checkDeployment } from './versions.ts';
import { byName, type DeploymentStore } from './store.ts';

/** The deployments file cannot be used as it is; the message names the file and what is wrong in it. */
export class DeploymentFileError extends Error {
  readonly path: string;
  constructor(path: string, problem: string) {
    super(`deployments file ${path} ${problem}`);
    this.name = 'DeploymentFileError';
    this.path = path;
  }
}

const noop = (): void => undefined;

/**
 * Deployments in one JSON file, `{ "deployments": [spec, ...] }`, created with its folder on first use.
 * The file belongs to this process: it is read and checked once (a bad file is refused whole, with a
 * DeploymentFileError), then rewritten atomically on each change, one change at a time. Gateways that
 * share deployments use Redis.
 */
export class FileDeploymentStore implements DeploymentStore {
  readonly path: string;
  #loaded: Promise<Map<string, DeploymentSpec>> | null = null;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = resolve(path);
  }

  async list(): Promise<DeploymentSpec[]> {
    return [...(await this.#load()).values()].map((s) => structuredClone(s)).sort(byName);
  }

  async get(name: string): Promise<DeploymentSpec | undefined> {
    const spec = (await this.#load()).get(name);
    return spec && structuredClone(spec); // callers may change what they get; the cache stays as written
  }

  async put(spec: DeploymentSpec): Promise<void> {
    await this.#write((all) => {
      all.set(spec.name, structuredClone(spec));
      return true;
    });
  }

  delete(name: string): Promise<boolean> {
    return this.#write((all) => all.delete(name));
  }

  /** Waits for writes under way; there is nothing to release. */
  async close(): Promise<void> {
    await this.#tail;
  }

  /** Changes a copy, writes it, and only then makes it current; queued behind earlier writes. */
  #write(change: (all: Map<string, DeploymentSpec>) => boolean): Promise<boolean> {
    const run = this.#tail.then(async () => {
      const next = new Map(await this.#load());
      if (!change(next)) return false;
      await writeFileAtomically(this.path, serialize(next));
      this.#loaded = Promise.resolve(next);
      return true;
    });
    this.#tail = run.then(noop, noop);
    return run;
  }

  #load(): Promise<Map<string, DeploymentSpec>> {
    this.#loaded ??= this.#readOrCreate().catch((e: unknown) => {
      this.#loaded = null; // a later call tries again (e.g. once the file is fixed)
      throw e;
    });
    return this.#loaded;
  }

  async #readOrCreate(): Promise<Map<string, DeploymentSpec>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      await mkdir(dirname(this.path), { recursive: true });
      await writeFileAtomically(this.path, serialize(new Map()));
      return new Map();
    }
    return parse(this.path, text);
  }
}

function serialize(all: Map<string, DeploymentSpec>): string {
  return `${JSON.stringify({ deployments: [...all.values()].sort(byName) }, null, 2)}\n`;
}

function parse(path: string, text: string): Map<string, DeploymentSpec> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new DeploymentFileError(path, `is not valid JSON: ${(e as Error).message}`);
  }
  const list = (doc as { deployments?: unknown } | null)?.deployments;
  if (typeof doc !== 'object' || doc === null || !Array.isArray(list)) {
    throw new DeploymentFileError(path, 'must hold { "deployments": [ ... ] }');
  }
  const all = new Map<string, DeploymentSpec>();
  for (const [i, value] of list.entries()) {
    let spec: DeploymentSpec;
    try {
      spec = checkDeployment(value);
    } catch (e) {
      throw new DeploymentFileError(path, `has an invalid deployments[${i}]: ${(e as Error).message}`);
    }
    if (all.has(spec.name)) throw new DeploymentFileError(path, `lists '${spec.name}' twice`);
    all.set(spec.name, spec);
  }
  return all;
}
