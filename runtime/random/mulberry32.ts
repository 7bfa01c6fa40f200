/**
 * mulberry32: a seeded uniform [0, 1) stream with 32 bits of state. Fast and good enough to place
 * simulated arrivals, draw test workloads and write reproducible random weights; never the engine's
 * sampler (runtime/engine's seeded sampling has its own generator).
 */
export type Random = () => number;

export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
