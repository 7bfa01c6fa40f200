import { type Command, InvalidArgumentError } from 'commander';
import type { StatusSummary } from '../../gateway/status-page/index.ts';
import { adminOf, JSON_HELP, printJson } from './admin-context.ts';
import { formatStatus } from './status-format.ts';

const pageNumber = (v: string): number => {
  if (!/^[1-9]\d{0,5}$/.test(v)) throw new InvalidArgumentError('expected a whole number from 1 to 999999');
  return Number(v);
};

/** status: what the gateway's /status page shows, per deployment, from GET /admin/v1/status. */
export function addStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      "each deployment's instances, demand, forecast, cold starts, latency and last decision (the /status page)",
    )
    .option('-q, --filter <text>', 'only deployments whose name contains this')
    .option('--page <n>', 'which page of deployments', pageNumber)
    .option('--per-page <n>', 'deployments a page (default 20, at most 100)', pageNumber)
    .option('--json', JSON_HELP)
    .action(async (o: { filter?: string; page?: number; perPage?: number; json?: boolean }, cmd: Command) => {
      const q = new URLSearchParams({
        ...(o.filter !== undefined && { q: o.filter }),
        ...(o.page !== undefined && { page: String(o.page) }),
        ...(o.perPage !== undefined && { per_page: String(o.perPage) }),
      });
      const s = await adminOf(cmd).get<StatusSummary>(`/status${q.size > 0 ? `?${q}` : ''}`);
      if (o.json) printJson(s);
      else console.log(formatStatus(s));
    });
}
