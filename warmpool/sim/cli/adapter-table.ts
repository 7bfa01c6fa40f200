import type { JobResult } from '../jobs/types.ts';
import { fixedWidth, settingCell } from './output.ts';

/**
 * The adapters mode's table: per policy, one pool per adapter against adapters over one base. Base
 * cold starts (a request waited for a starting instance) and adapter loads are counted apart; the
 * load wait is the latency the loads added, summed over every request.
 */
export function adapterTable(results: readonly JobResult[]): string {
  const head = [
    'policy',
    'arrangement',
    'setting',
    'requests',
    'base cold starts',
    'cold %',
    'adapter loads',
    'reqs waiting on a load',
    'load wait s',
    'wait p50 ms',
    'wait p99 ms',
    'inst-h',
    'idle inst-h',
    'run s',
  ];
  const rows = results.map((r) => {
    const s = r.summary;
    return [
      r.job.policy,
      r.job.arrangement ?? '',
      settingCell(r.job),
      String(s.requests),
      String(s.cold_starts),
      s.cold_start_pct.toFixed(3),
      String(s.adapter_loads ?? 0),
      String(s.adapter_load_requests ?? 0),
      (s.adapter_load_wait_s ?? 0).toFixed(1),
      s.wait_ms_p50.toFixed(1),
      s.wait_ms_p99.toFixed(1),
      (s.instance_seconds / 3600).toFixed(1),
      (s.idle_instance_seconds / 3600).toFixed(1),
      (r.elapsedMs / 1000).toFixed(1),
    ];
  });
  return fixedWidth(head, rows, 3);
}
