import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeploymentSpec } from '../../gateway/deployments/index.ts';

/** What a local instance leaves on disk so that a later controller on this host can adopt it. */
export interface InstanceRecord {
  readonly id: string;
  readonly deployment: DeploymentSpec;
  readonly url: string;
  readonly pid: number;
  readonly startedAt: number;
}

const isRecord = (r: Partial<InstanceRecord> | null): r is InstanceRecord =>
  !!r &&
  typeof r.id === 'string' &&
  typeof r.url === 'string' &&
  typeof r.pid === 'number' &&
  typeof r.startedAt === 'number' &&
  typeof r.deployment?.name === 'string';

/**
 * One JSON file per running instance in a folder: the local provider's counterpart of the labels a
 * Kubernetes pod carries. Written atomically; unreadable files are skipped.
 */
export class InstanceRecords {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async write(r: InstanceRecord): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const path = this.#path(r.id);
    await writeFile(`${path}.tmp`, JSON.stringify(r));
    await rename(`${path}.tmp`, path);
  }

  /** write(), done before it returns: no await between a spawn and its record. */
  writeSync(r: InstanceRecord): void {
    mkdirSync(this.#dir, { recursive: true });
    const path = this.#path(r.id);
    writeFileSync(`${path}.tmp`, JSON.stringify(r));
    renameSync(`${path}.tmp`, path);
  }

  async remove(id: string): Promise<void> {
    await rm(this.#path(id), { force: true });
  }

  async readAll(): Promise<InstanceRecord[]> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    const out: InstanceRecord[] = [];
    for (const n of names.filter((f) => f.endsWith('.json'))) {
      const r = await readFile(join(this.#dir, n), 'utf8')
        .then((t) => JSON.parse(t) as Partial<InstanceRecord>)
        .catch(() => null);
      if (isRecord(r)) out.push(r);
    }
    return out;
  }

  #path(id: string): string {
    return join(this.#dir, `${encodeURIComponent(id)}.json`);
  }
}
