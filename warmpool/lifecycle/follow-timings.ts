import type { InstanceLifecycle } from './instance-lifecycle.ts';

/** Moments a provider observed while an instance came up (absolute ms on the provider's clock). */
export interface StartTimings {
  /** The process was spawned. */
  readonly spawnedAt: number;
  /** /live first answered: the runtime is up and loading the model. */
  readonly liveAt?: number;
  /** /live first reported the warm-up inference. */
  readonly warmingAt?: number;
  /** /ready first answered 200. */
  readonly readyAt?: number;
}

/**
 * Advances a lifecycle through the start-up phases the timings show, stamping each with the observed
 * moment. A phase seen late (polling skipped it) is stamped when the next one was seen, so it lasts 0 ms.
 * Idempotent: phases already passed are left alone; a lifecycle past warming is not touched.
 */
export function followTimings(life: InstanceLifecycle, t: StartTimings): void {
  const steps = [
    ['starting', t.spawnedAt],
    ['loading', t.liveAt ?? t.warmingAt ?? t.readyAt],
    ['warming', t.warmingAt ?? t.readyAt],
    ['ready-idle', t.readyAt],
  ] as const;
  const order = steps.map(([s]) => s as string);
  for (const [state, at] of steps) {
    if (at === undefined) return;
    const here = order.indexOf(life.state);
    const want = order.indexOf(state);
    if (life.state !== 'requested' && (here === -1 || here >= want)) continue;
    if (life.canMove(state)) life.move(state, Math.max(at, life.history.at(-1)!.at));
  }
}
