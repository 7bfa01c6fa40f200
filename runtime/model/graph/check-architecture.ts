import type { ResolvedArchitecture } from '../architecture.ts';
import { GraphBuildError } from './graph-build-error.ts';

/** What the graphs assume of an architecture, checked before a node is written. */
export function checkArchitecture(a: ResolvedArchitecture): void {
  const fail = (message: string) => {
    throw new GraphBuildError('architecture_unsupported', message);
  };
  if (a.n_head % a.n_kv_head !== 0)
    fail(`n_head (${a.n_head}) must be a multiple of n_kv_head (${a.n_kv_head})`);
  if (a.position === 'rope') {
    if (!a.rope) fail("position 'rope' needs rope settings (theta, optionally dim and llama3)");
    const dim = a.rope!.dim ?? a.head_dim;
    if (dim % 2 !== 0 || dim < 2 || dim > a.head_dim)
      fail(`rope.dim (${dim}) must be even and between 2 and head_dim (${a.head_dim})`);
    if (!(a.rope!.theta > 0)) fail(`rope.theta (${a.rope!.theta}) must be positive`);
    const s = a.rope!.llama3;
    if (s && !(s.factor > 0 && s.high_freq_factor > s.low_freq_factor && s.low_freq_factor > 0))
      fail('rope.llama3 needs factor > 0 and high_freq_factor > low_freq_factor > 0');
  }
}
