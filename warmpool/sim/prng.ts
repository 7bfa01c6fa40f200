/**
 * Seeded pseudo-random numbers (mulberry32, runtime/random): fast, 32-bit state, good enough to place arrivals and draw
 * service times. Each deployment draws from its own stream, seeded from the run's seed and its name, so
 * its numbers do not depend on which worker simulates it or on which other deployments are in the run.
 */
export { mulberry32, type Random } from '../../runtime/random/mulberry32.ts';

/** FNV-1a of `text`, mixed with `seed`: a stream's seed. */
export function streamSeed(seed: number, text: string): number {
  let h = (0x811c9dc5 ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
