import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DeploymentSpec } from '../../gateway/deployments/index.ts';
import { freePort } from '../../runtime/instance/launch.ts';
import { type Clock, systemClock } from '../../runtime/time/clock.ts';
import { ArtifactCache, ArtifactStartError, defaultCacheDir } from '../artifacts/index.ts';
import type { StartTimings } from '../lifecycle/index.ts';
import { instanceArgs } from './instance-args.ts';
import type { InstanceLog, LogLine } from './instance-log.ts';
import {
  adoptProcess,
  type InstanceProcess,
  isInstanceProcess,
  processAlive,
  spawnInstanceProcess,
} from './instance-process.ts';
import { type InstanceRecord, InstanceRecords } from './instance-records.ts';
import type { InstanceExit, InstanceHealth, Provider, ProviderInstance, StartSpec } from './provider.ts';
import { type Standby, StandbyPool } from './standby-pool.ts';

export interface LocalProviderOptions {
  readonly host?: string;
  /** How often a starting instance is polled to time its phases. Default 50 ms. */
  readonly pollIntervalMs?: number;
  /** Per-request limit for /live and /ready. Default 1000 ms. */
  readonly probeTimeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Default systemClock. */
  readonly clock?: Clock;
  /** Where URL artifacts are downloaded and verified. Default: a cache under defaultCacheDir(env). */
  readonly artifacts?: ArtifactCache;
  /**
   * Standby processes kept primed on this host (runtime imported, ONNX Runtime set up, KV memory
   * committed): a start assigns its model to one instead of spawning. Default 1; 0 turns them off.
   */
  readonly standby?: number;
  /** KV memory (MiB) each standby commits ahead; an instance that needs more allocates its own. Default 64. */
  readonly standbyKvMb?: number;
  /** Where ONNX Runtime's optimized graphs are kept between starts; false turns it off. Default: beside the model cache. */
  readonly graphCacheDir?: string | false;
  /**
   * Where each instance leaves a record (id, deployment, URL, pid) while it runs, so that a controller
   * started later on this host lists, and adopts, instances that an earlier one started. Providers
   * sharing a folder share their instances: one per platform. Default: none (no adoption).
   */
  readonly stateDir?: string;
}

/** Instances that ended whose output lines are still shown. */
const ENDED_LOGS_KEPT = 16;

interface Running {
  readonly instance: ProviderInstance;
  readonly proc: InstanceProcess;
  readonly timings: { -readonly [K in keyof StartTimings]: StartTimings[K] };
  stopping: boolean;
}

/**
 * Runtime instance processes on this host, one free loopback port each. start() returns once the
 * process is launched (or a standby was assigned the model); a poll per starting instance records
 * when /live and /ready first answer.
 */
export class LocalProvider implements Provider {
  readonly #host: string;
  readonly #pollMs: number;
  readonly #probeMs: number;
  readonly #env: NodeJS.ProcessEnv;
  readonly #clock: Clock;
  readonly #artifacts: ArtifactCache;
  /** Flags every instance gets from this provider (graph cache, parent watch). */
  readonly #extraArgs: string[];
  readonly #standbys: StandbyPool;
  readonly #running = new Map<string, Running>();
  readonly #readAhead = new Set<string>();
  readonly #records: InstanceRecords | undefined;
  /** Output of the instances spawned here; of those that ended, only the last ENDED_LOGS_KEPT. */
  readonly #logs = new Map<string, InstanceLog>();
  readonly #endedLogs: string[] = [];

  constructor(o: LocalProviderOptions = {}) {
    this.#host = o.host ?? '127.0.0.1';
    this.#pollMs = o.pollIntervalMs ?? 50;
    this.#probeMs = o.probeTimeoutMs ?? 1000;
    this.#env = o.env ?? process.env;
    this.#clock = o.clock ?? systemClock;
    this.#artifacts = o.artifacts ?? new ArtifactCache({ dir: defaultCacheDir(this.#env) });
    const graphs = o.graphCacheDir ?? join(dirname(defaultCacheDir(this.#env)), 'graphs');
    this.#extraArgs = graphs === false ? [] : ['--graph-cache', graphs];
    this.#records = o.stateDir === undefined ? undefined : new InstanceRecords(o.stateDir);
    // Without records no later controller can adopt an instance: it ends with this process.
    if (!this.#records) this.#extraArgs.push('--exit-with-parent');
    this.#standbys = new StandbyPool({
      host: this.#host,
      size: o.standby ?? 1,
      args: ['--kv-mb', String(o.standbyKvMb ?? 64)],
      env: this.#env,
      pollMs: Math.min(this.#pollMs, 20),
    });
  }

  /**
   * Gets the host ready for a deployment it is expected to run: reads its model's files once, so the
   * page cache holds them when an instance starts, and primes the standbys. Returns at once.
   */
  prepare(d: DeploymentSpec): void {
    this.#standbys.fill();
    if (d.model === undefined || !('path' in d.model) || this.#readAhead.has(d.model.path)) return;
    const dir = d.model.path;
    this.#readAhead.add(dir);
    void readFile(join(dir, 'model.json'), 'utf8')
      .then(async (raw) => {
        const files = (JSON.parse(raw) as { files?: Record<string, { path?: unknown }> }).files ?? {};
        for (const f of Object.values(files))
          if (typeof f.path === 'string') await readFile(join(dir, f.path)).catch(() => undefined);
      })
      .catch(() => undefined); // a missing or bad model is reported by the start that needs it
  }

  /** Process ids of the standby processes waiting for a model (operators, tests). */
  standbyPids(): number[] {
    return this.#standbys.pids();
  }

  /** Resolves once a standby is primed (benchmarks; a start never waits for one). */
  standbyPrimed(): Promise<void> {
    return this.#standbys.whenPrimed();
  }

  async start({ deployment, instanceId }: StartSpec): Promise<ProviderInstance> {
    if (this.#running.has(instanceId)) throw new Error(`instance ${instanceId} already exists`);
    let local = deployment;
    if (deployment.model !== undefined && 'url' in deployment.model) {
      // Download and verify before spawning: a bad artifact rejects this start and nothing else.
      const r = await this.#artifacts.resolve(deployment.model);
      if (!r.ok) throw new ArtifactStartError(deployment.name, r.error);
      local = { ...deployment, model: { path: r.dir } };
    }
    instanceArgs(local, this.#host, 0); // throws for what cannot run here, before a standby is taken
    const startedAt = this.#clock.now();
    const standby = this.#standbys.take();
    const assigned = standby && (await this.#assign(standby, local));
    const port = assigned ? standby.port : await freePort();
    const proc = assigned
      ? standby.proc
      : spawnInstanceProcess([...instanceArgs(local, this.#host, port), ...this.#extraArgs], this.#env);
    const instance: ProviderInstance = {
      id: instanceId,
      deployment,
      url: `http://${this.#host}:${port}`,
      startedAt,
    };
    const r: Running = {
      instance,
      proc,
      timings: { spawnedAt: startedAt, ...(assigned && { liveAt: this.#clock.now() }) },
      stopping: false,
    };
    this.#track(r);
    // The standby taken is replaced once this instance is up, not while it loads (2 cores: it would
    // take CPU from the load).
    void this.#watch(r).finally(() => this.#standbys.fill());
    return instance;
  }

  /** Hands `d` to a standby; false (and the standby stopped) when it did not take it. */
  async #assign(s: Standby, d: DeploymentSpec): Promise<boolean> {
    const args = [...instanceArgs(d, this.#host, s.port), ...this.#extraArgs];
    const ok = await fetch(`${s.url}/assign`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ args }),
      signal: AbortSignal.timeout(this.#probeMs),
    })
      .then((res) => res.status === 202)
      .catch(() => false);
    if (!ok) s.proc.kill('SIGKILL');
    return ok;
  }

  async stop(id: string, o: { drainTimeoutMs: number }): Promise<InstanceExit | undefined> {
    const r = this.#running.get(id);
    if (!r) return undefined;
    if (r.proc.exit) return r.proc.exit;
    r.stopping = true;
    r.proc.kill('SIGTERM'); // the instance drains, then exits 0
    let timer: unknown;
    try {
      const forced = new Promise<'timeout'>(
        (res) => (timer = this.#clock.setTimeout(() => res('timeout'), o.drainTimeoutMs)),
      );
      if ((await Promise.race([r.proc.exited, forced])) === 'timeout') r.proc.kill('SIGKILL');
      return await r.proc.exited;
    } finally {
      this.#clock.clearTimeout(timer);
    }
  }

  /** Instances running: started here, or (with a stateDir) recorded by an earlier provider and still alive. */
  async list(): Promise<ProviderInstance[]> {
    await this.#adoptRecorded();
    return [...this.#running.values()].filter((r) => !r.proc.exit).map((r) => r.instance);
  }

  /** Takes over the recorded instances whose process still runs; drops the records of those that do not. */
  async #adoptRecorded(): Promise<void> {
    if (!this.#records) return;
    for (const rec of await this.#records.readAll()) {
      if (this.#running.has(rec.id)) continue;
      if (!(await this.#stillRuns(rec))) {
        await this.#records.remove(rec.id);
        continue;
      }
      const r: Running = {
        instance: { id: rec.id, deployment: rec.deployment, url: rec.url, startedAt: rec.startedAt },
        proc: adoptProcess(rec.pid, this.#pollMs),
        timings: { spawnedAt: rec.startedAt },
        stopping: false,
      };
      this.#track(r);
      void this.#watch(r);
    }
  }

  /**
   * Whether a recorded instance still runs. A live pid alone could be a reused one: its command line must
   * be the instance's (runtime main, its port). An instance still loading (its controller died during a
   * scale-up) may not answer /live yet but is adopted all the same, so it is neither duplicated nor left
   * running unmanaged. Without /proc, answering /live at its URL is the proof.
   */
  async #stillRuns(rec: InstanceRecord): Promise<boolean> {
    if (!processAlive(rec.pid)) return false;
    const same = isInstanceProcess(rec.pid, new URL(rec.url).port);
    if (same !== undefined) return same;
    return fetch(`${rec.url}/live`, { signal: AbortSignal.timeout(this.#probeMs) }).then(
      (res) => res.ok,
      () => false,
    );
  }

  /** Follows an instance until its process ends, keeping its record on disk meanwhile. */
  #track(r: Running): void {
    this.#running.set(r.instance.id, r);
    this.#keepLog(r);
    if (!this.#records || r.proc.pid === undefined) return;
    const rec = { ...r.instance, pid: r.proc.pid };
    // Written before anything else can run: a controller killed right after the spawn leaves a record.
    try {
      this.#records.writeSync(rec);
    } catch {
      // an unwritable state folder: the instance runs, only adoption of it is lost
    }
    void r.proc.exited.then(() => this.#records?.remove(rec.id)).catch(() => undefined);
  }

  /** Keeps the instance's output lines, and those of the last few that ended (why did it crash?). */
  #keepLog(r: Running): void {
    const id = r.instance.id;
    if (!r.proc.log) return;
    this.#logs.set(id, r.proc.log);
    void r.proc.exited.then(() => {
      this.#endedLogs.push(id);
      if (this.#endedLogs.length > ENDED_LOGS_KEPT) this.#logs.delete(this.#endedLogs.shift()!);
    });
  }

  logs(id: string, n?: number): LogLine[] | undefined {
    return this.#logs.get(id)?.lines(n);
  }

  async health(id: string): Promise<InstanceHealth> {
    const r = this.#running.get(id);
    if (!r || r.proc.exit) return 'gone';
    const ready = await this.#observe(r);
    if (r.proc.exit) return 'gone';
    if (r.stopping || ready === 'draining') return 'draining';
    // Silent after it was up: hung or frozen (a loading instance may be too busy to answer yet).
    if (ready === 'down' && r.timings.readyAt !== undefined) return 'unresponsive';
    return ready === 'ready' ? 'ready' : 'starting';
  }

  exitOf(id: string): InstanceExit | undefined {
    return this.#running.get(id)?.proc.exit;
  }

  /** The instance's process id while it runs (operators, tests). */
  pid(id: string): number | undefined {
    const r = this.#running.get(id);
    return r && !r.proc.exit ? r.proc.pid : undefined;
  }

  /** When the instance's start-up phases were first seen; feed to followTimings(). */
  timings(id: string): StartTimings | undefined {
    const t = this.#running.get(id)?.timings;
    return t && { ...t };
  }

  /** Stops every instance still running and the standbys (tests, shutdown). */
  async close(drainTimeoutMs = 5000): Promise<void> {
    await Promise.all([
      this.#standbys.close(),
      ...[...this.#running.keys()].map((id) => this.stop(id, { drainTimeoutMs })),
    ]);
  }

  /** Polls a starting instance until it is ready or gone, so its phases are timed even unasked. */
  async #watch(r: Running): Promise<void> {
    while (!r.proc.exit && !r.stopping && r.timings.readyAt === undefined) {
      await this.#observe(r);
      let timer: unknown;
      try {
        const pause = new Promise<void>((res) => (timer = this.#clock.setTimeout(res, this.#pollMs)));
        await Promise.race([r.proc.exited, pause]);
      } finally {
        this.#clock.clearTimeout(timer);
      }
    }
  }

  /** Reads /live and /ready once, recording first sightings. */
  async #observe(r: Running): Promise<'ready' | 'starting' | 'draining' | 'down'> {
    const get = (path: string) =>
      fetch(`${r.instance.url}${path}`, { signal: AbortSignal.timeout(this.#probeMs) })
        .then(async (res) => ({ ok: res.ok, state: ((await res.json()) as { state?: string }).state }))
        .catch(() => undefined);
    const live = await get('/live');
    const at = this.#clock.now();
    if (!live) return 'down';
    const t = r.timings;
    t.liveAt ??= at;
    if (live.state === 'warming') t.warmingAt ??= at;
    const ready = await get('/ready');
    if (ready?.ok) {
      t.readyAt ??= this.#clock.now();
      return 'ready';
    }
    const state = ready?.state ?? live.state;
    return state === 'draining' || state === 'stopped' ? 'draining' : 'starting';
  }
}
