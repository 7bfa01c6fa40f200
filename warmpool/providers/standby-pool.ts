import { freePort } from '../../runtime/instance/launch.ts';
import { type InstanceProcess, spawnInstanceProcess } from './instance-process.ts';

/** A primed standby process taken from the pool: assign it a model with POST {url}/assign. */
export interface Standby {
  readonly proc: InstanceProcess;
  readonly port: number;
  readonly url: string;
}

export interface StandbyPoolOptions {
  readonly host: string;
  /** Standbys kept primed. 0 turns the pool off. */
  readonly size: number;
  /** Flags every standby gets (e.g. --kv-mb for the memory it commits ahead). */
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly pollMs: number;
}

/**
 * Runtime processes started before they are needed: imports done, ONNX Runtime set up, KV memory
 * committed (runtime/instance/standby.ts). A start takes a primed one and only loads its model. A standby
 * that dies unasked is not replaced until the next fill(), so a host where standbys cannot start does
 * not spawn in a loop.
 */
export class StandbyPool {
  readonly #o: StandbyPoolOptions;
  readonly #waiting = new Set<Standby & { primed: boolean }>();
  /** Spawns under way that have not joined #waiting yet (a free port is being found). */
  #pending = 0;
  #closed = false;

  constructor(o: StandbyPoolOptions) {
    this.#o = o;
  }

  /** Primed standbys now. */
  get primed(): number {
    return [...this.#waiting].filter((s) => s.primed && !s.proc.exit).length;
  }

  /** Process ids of the standbys waiting (primed or not). */
  pids(): number[] {
    return [...this.#waiting].flatMap((s) => (s.proc.exit || s.proc.pid === undefined ? [] : [s.proc.pid]));
  }

  /** Starts standbys up to the pool's size (returns at once; they prime in the background). */
  fill(): void {
    if (this.#closed) return;
    for (let n = this.#waiting.size + this.#pending; n < this.#o.size; n++) void this.#spawn();
  }

  /**
   * A primed standby, removed from the pool; undefined when none is primed. The caller refills (fill())
   * once its instance is up: a standby spawned now would take CPU from the model being loaded.
   */
  take(): Standby | undefined {
    for (const s of this.#waiting) {
      if (s.primed && !s.proc.exit) {
        this.#waiting.delete(s);
        return s;
      }
    }
    return undefined;
  }

  /** Resolves once a standby is primed (or the pool is off, closed or its standbys died). */
  async whenPrimed(): Promise<void> {
    this.fill();
    while (!this.#closed && this.#waiting.size + this.#pending > 0 && this.primed === 0)
      await new Promise((r) => setTimeout(r, this.#o.pollMs));
  }

  /** Stops the standbys (they hold no work: SIGTERM ends them at once). */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#waiting];
    this.#waiting.clear();
    for (const s of all) s.proc.kill('SIGTERM');
    await Promise.all(all.map((s) => s.proc.exited));
  }

  async #spawn(): Promise<void> {
    this.#pending++;
    let port: number;
    try {
      port = await freePort();
    } finally {
      this.#pending--;
    }
    if (this.#closed) return;
    const proc = spawnInstanceProcess(
      ['--standby', '--host', this.#o.host, '--port', String(port), ...this.#o.args],
      this.#o.env,
    );
    const s = { proc, port, url: `http://${this.#o.host}:${port}`, primed: false };
    this.#waiting.add(s);
    void proc.exited.then(() => this.#waiting.delete(s));
    while (!proc.exit && !this.#closed && this.#waiting.has(s)) {
      const live = await fetch(`${s.url}/live`, { signal: AbortSignal.timeout(1000) })
        .then((r) => r.json() as Promise<{ primed?: boolean }>)
        .catch(() => undefined);
      if (live?.primed) {
        s.primed = true;
        return;
      }
      await new Promise((r) => setTimeout(r, this.#o.pollMs));
    }
  }
}
