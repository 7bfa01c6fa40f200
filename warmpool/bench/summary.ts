/** Pure arithmetic of the cold-start benchmark: medians, the phase split, the floor. */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Moments the provider observed for one start (ms, one clock). */
export interface ObservedStart {
  readonly spawnedAt: number;
  readonly liveAt: number;
  readonly warmingAt: number;
  readonly readyAt: number;
}

export interface Phases {
  /** Bare process start (the `node -e ""` median), at most spawn → /live. */
  readonly spawn_ms: number;
  /** The rest of spawn → /live: importing the runtime and listening. */
  readonly runtime_import_ms: number;
  /** /live → /live says warming. */
  readonly model_load_ms: number;
  /** warming → /ready answers 200. */
  readonly warmup_ms: number;
}

/** Splits one observed start into phases that add up to readyAt − spawnedAt. */
export function splitPhases(t: ObservedStart, bareStartMs: number): Phases {
  const live = t.liveAt - t.spawnedAt;
  const spawn = Math.min(bareStartMs, live);
  return {
    spawn_ms: spawn,
    runtime_import_ms: live - spawn,
    model_load_ms: t.warmingAt - t.liveAt,
    warmup_ms: t.readyAt - t.warmingAt,
  };
}

/** Per-phase medians over several starts. */
export function medianPhases(all: readonly Phases[]): Phases {
  const m = (k: keyof Phases) => median(all.map((p) => p[k]));
  return {
    spawn_ms: m('spawn_ms'),
    runtime_import_ms: m('runtime_import_ms'),
    model_load_ms: m('model_load_ms'),
    warmup_ms: m('warmup_ms'),
  };
}

export interface FloorParts {
  /** A bare `node -e ""`, spawn to exit. */
  readonly process_start_ms: number;
  /** The model's graph and weights read from the page cache. */
  readonly read_model_ms: number;
  /** ONNX Runtime opening the cached optimized graph (no optimizer), in a process where it is set up. */
  readonly session_create_ms: number;
}

/** The physical minimum of each way a start can go, so each is measured against what it must pay. */
export interface Floors {
  /** A primed standby: the process and the runtime are already there; the model's bytes and session are not. */
  readonly standby_ms: number;
  /** A new process: a bare node start on top of the standby's floor. */
  readonly fresh_process_ms: number;
}

export const floorsOf = (p: FloorParts): Floors => {
  const standby = p.read_model_ms + p.session_create_ms;
  return { standby_ms: standby, fresh_process_ms: p.process_start_ms + standby };
};

export const round2 = (x: number): number => Math.round(x * 100) / 100;
