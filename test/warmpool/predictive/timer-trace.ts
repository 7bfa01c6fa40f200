// The Azure Functions 2019 trace's timer function (test/fixtures: its first row, 14 calls every 10 minutes)
// as arrival times, and the verdict both predictive tests give on a pool's record: the simulated-time one
// (predictive-trace.test.ts) and the live one (../predictive-live.test.ts).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { mulberry32 } from '../../../warmpool/sim/prng.ts';

const TRACE = new URL('../../fixtures/azure2019-sample-invocations.csv', import.meta.url).pathname;

/** Per-minute counts of the trace's first function (a timer). */
async function firstFunctionMinutes(): Promise<number[]> {
  const lines = createInterface({ input: createReadStream(TRACE) });
  let n = 0;
  for await (const line of lines) {
    if (n++ === 1) {
      lines.close();
      return line.split(',').slice(3).map(Number);
    }
  }
  throw new Error('trace has no data row');
}

/**
 * Arrival times (ms after the first burst's minute, sorted) of the first `bursts` active minutes, one
 * trace minute compressed into 60 / compression seconds; arrivals spread within each minute the same way
 * every run (seeded).
 */
export async function timerBursts(bursts: number, compression: number): Promise<number[][]> {
  const minutes = await firstFunctionMinutes();
  const active = minutes.flatMap((c, m) => (c > 0 ? [m] : [])).slice(0, bursts);
  if (active.length !== bursts) throw new Error(`the trace has ${active.length} active minutes`);
  const rand = mulberry32(7);
  return active.map((m) =>
    Array.from({ length: minutes[m]! }, () => (m - active[0]! + rand()) * (60_000 / compression)).sort(
      (a, b) => a - b,
    ),
  );
}

export interface BurstVerdict {
  /** The burst's first arrival. */
  readonly first: number;
  /** The pool's last moment at zero before that arrival came more than `marginMs` after the previous burst. */
  readonly zeroInGap: boolean;
  /** An instance became ready after that moment and no later than the first arrival. */
  readonly readyBefore: boolean;
}

/**
 * For each burst from index `from` on: had the pool gone to zero in the gap before it, and was an
 * instance made ready after that and before the burst came (started ahead, not kept, and not one started
 * for the previous burst that came up late)? `live`: (instant, live instances) samples in time order;
 * `readyAt`: when each instance first became ready.
 */
export function burstVerdicts(
  arrivals: readonly (readonly number[])[],
  from: number,
  live: readonly (readonly [number, number])[],
  readyAt: Iterable<number>,
  marginMs: number,
): BurstVerdict[] {
  const ready = [...readyAt];
  return arrivals.slice(from).map((b, k) => {
    const first = b[0]!;
    const prevEnd = arrivals[from + k - 1]!.at(-1)!;
    const lastZero = live.findLast(([t, n]) => t < first && n === 0)?.[0] ?? -Infinity;
    const zeroInGap = lastZero > prevEnd + marginMs;
    const readyBefore = ready.some((r) => r > lastZero && r <= first);
    return { first, zeroInGap, readyBefore };
  });
}

export const prewarmed = (v: BurstVerdict): boolean => v.readyBefore && v.zeroInGap;
