// A cold start as long as a test needs: the real local provider, except that the instances of one pool
// report 'starting' until the test releases them. Their processes start and load as usual; the warm pool
// and, through it, the gateway learn of them only when released, so "not ready yet" is a state the test
// holds rather than a race it hopes to win.
import {
  type InstanceHealth,
  LocalProvider,
  type Provider,
  type ProviderInstance,
  type StartSpec,
} from '../../warmpool/providers/index.ts';

export class HeldProvider implements Provider {
  readonly #inner = new LocalProvider();
  readonly #held = new Set<string>();
  readonly #pool: string;
  #released = false;

  /** `pool`: the pool whose instances are held (a version's, e.g. `tiny@2`). */
  constructor(pool: string) {
    this.#pool = pool;
  }

  /** From now on the held instances report their real health. */
  release(): void {
    this.#released = true;
  }

  async start(spec: StartSpec): Promise<ProviderInstance> {
    const started = await this.#inner.start(spec);
    if (spec.deployment.name === this.#pool) this.#held.add(started.id);
    return started;
  }

  async health(id: string): Promise<InstanceHealth> {
    const real = await this.#inner.health(id);
    return real === 'ready' && !this.#released && this.#held.has(id) ? 'starting' : real;
  }

  stop(id: string, o: { drainTimeoutMs: number }) {
    return this.#inner.stop(id, o);
  }
  list() {
    return this.#inner.list();
  }
  exitOf(id: string) {
    return this.#inner.exitOf(id);
  }
  logs(id: string, n?: number) {
    return this.#inner.logs(id, n);
  }
  close() {
    return this.#inner.close();
  }
}
