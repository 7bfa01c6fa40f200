import { type ChildProcess, spawn } from 'node:child_process';
import { freePort, INSTANCE_MAIN_ARGS } from '../../runtime/instance/launch.ts';
import { ArtifactCache, ArtifactStartError, defaultCacheDir } from '../artifacts/index.ts';
import type { StartTimings } from '../lifecycle/index.ts';
import { instanceArgs } from './instance-args.ts';
import { OutputTail } from './output-tail.ts';
import type { InstanceExit, InstanceHealth, Provider, ProviderInstance, StartSpec } from './provider.ts';

export interface LocalProviderOptions {
  readonly host?: string;
  /** How often a starting instance is polled to time its phases. Default 50 ms. */
  readonly pollIntervalMs?: number;
  /** Per-request limit for /live and /ready. Default 1000 ms. */
  readonly probeTimeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly now?: () => number;
  /** Where URL artifacts are downloaded and verified. Default: a cache under defaultCacheDir(env). */
  readonly artifacts?: ArtifactCache;
}

interface Running {
  readonly instance: ProviderInstance;
  readonly child: ChildProcess;
  readonly exited: Promise<InstanceExit>;
  readonly timings: { -readonly [K in keyof StartTimings]: StartTimings[K] };
  exit?: InstanceExit;
  stopping: boolean;
}

/**
 * Runtime instance processes on this host, one free loopback port each. start() returns once the
 * process is spawned; a poll per starting instance records when /live and /ready first answer.
 */
export class LocalProvider implements Provider {
  readonly #host: string;
  readonly #pollMs: number;
  readonly #probeMs: number;
  readonly #env: NodeJS.ProcessEnv;
  readonly #now: () => number;
  readonly #artifacts: ArtifactCache;
  readonly #running = new Map<string, Running>();

  constructor(o: LocalProviderOptions = {}) {
    this.#host = o.host ?? '127.0.0.1';
    this.#pollMs = o.pollIntervalMs ?? 50;
    this.#probeMs = o.probeTimeoutMs ?? 1000;
    this.#env = o.env ?? process.env;
    this.#now = o.now ?? Date.now;
    this.#artifacts = o.artifacts ?? new ArtifactCache({ dir: defaultCacheDir(this.#env) });
  }

  async start({ deployment, instanceId }: StartSpec): Promise<ProviderInstance> {
    if (this.#running.has(instanceId)) throw new Error(`instance ${instanceId} already exists`);
    let local = deployment;
    if ('url' in deployment.model) {
      // Download and verify before spawning: a bad artifact rejects this start and nothing else.
      const r = await this.#artifacts.resolve(deployment.model);
      if (!r.ok) throw new ArtifactStartError(deployment.name, r.error);
      local = { ...deployment, model: { path: r.dir } };
    }
    const port = await freePort();
    const args = instanceArgs(local, this.#host, port); // throws for what cannot run here
    const child = spawn(process.execPath, [...INSTANCE_MAIN_ARGS, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: this.#env,
    });
    const stderr = new OutputTail();
    child.stderr!.on('data', (c: Buffer) => stderr.push(c));
    const startedAt = this.#now();
    const instance: ProviderInstance = {
      id: instanceId,
      deployment,
      url: `http://${this.#host}:${port}`,
      startedAt,
    };
    const r: Running = {
      instance,
      child,
      timings: { spawnedAt: startedAt },
      stopping: false,
      // 'close' comes after stderr has ended, so the tail is complete.
      exited: new Promise((resolve) =>
        child.once('close', (code, signal) => {
          r.exit = { code, signal, stderrTail: stderr.toString() };
          resolve(r.exit);
        }),
      ),
    };
    child.once('error', (e) => stderr.push(`spawn failed: ${e.message}\n`));
    this.#running.set(instanceId, r);
    void this.#watch(r);
    return instance;
  }

  async stop(id: string, o: { drainTimeoutMs: number }): Promise<InstanceExit | undefined> {
    const r = this.#running.get(id);
    if (!r) return undefined;
    if (r.exit) return r.exit;
    r.stopping = true;
    r.child.kill('SIGTERM'); // the instance drains, then exits 0
    let timer: NodeJS.Timeout | undefined;
    try {
      const forced = new Promise<'timeout'>(
        (res) => (timer = setTimeout(() => res('timeout'), o.drainTimeoutMs)),
      );
      if ((await Promise.race([r.exited, forced])) === 'timeout') r.child.kill('SIGKILL');
      return await r.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async list(): Promise<ProviderInstance[]> {
    return [...this.#running.values()].filter((r) => !r.exit).map((r) => r.instance);
  }

  async health(id: string): Promise<InstanceHealth> {
    const r = this.#running.get(id);
    if (!r || r.exit) return 'gone';
    const ready = await this.#observe(r);
    if (r.exit) return 'gone';
    if (r.stopping || ready === 'draining') return 'draining';
    return ready === 'ready' ? 'ready' : 'starting';
  }

  exitOf(id: string): InstanceExit | undefined {
    return this.#running.get(id)?.exit;
  }

  /** The instance's process id while it runs (operators, tests). */
  pid(id: string): number | undefined {
    const r = this.#running.get(id);
    return r && !r.exit ? r.child.pid : undefined;
  }

  /** When the instance's start-up phases were first seen; feed to followTimings(). */
  timings(id: string): StartTimings | undefined {
    const t = this.#running.get(id)?.timings;
    return t && { ...t };
  }

  /** Stops every instance still running (tests, shutdown). */
  async close(drainTimeoutMs = 5000): Promise<void> {
    await Promise.all([...this.#running.keys()].map((id) => this.stop(id, { drainTimeoutMs })));
  }

  /** Polls a starting instance until it is ready or gone, so its phases are timed even unasked. */
  async #watch(r: Running): Promise<void> {
    while (!r.exit && !r.stopping && r.timings.readyAt === undefined) {
      await this.#observe(r);
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([r.exited, new Promise((res) => (timer = setTimeout(res, this.#pollMs)))]);
      } finally {
        clearTimeout(timer);
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
    const at = this.#now();
    if (!live) return 'down';
    const t = r.timings;
    t.liveAt ??= at;
    if (live.state === 'warming') t.warmingAt ??= at;
    const ready = await get('/ready');
    if (ready?.ok) {
      t.readyAt ??= this.#now();
      return 'ready';
    }
    const state = ready?.state ?? live.state;
    return state === 'draining' || state === 'stopped' ? 'draining' : 'starting';
  }
}
