import type { Command } from 'commander';
import { adminOf, JSON_HELP, printJson } from './admin-context.ts';
import { table } from './format.ts';
import { usageError } from './one-line-errors.ts';

/** GET /admin/v1/deployments/{name}/rollout, as far as the table shows it. */
interface RolloutView {
  name: string;
  stable: number;
  versions: {
    version: number;
    pool: string;
    model: { path?: string; url?: string };
    weight: number;
    effectiveWeight: number;
    ready: boolean;
    window: { requests: number; errors: number; ttftP90Ms: number | null };
  }[];
  verdict: { action: string; reason: string } | null;
  history: { at: number; action: string; from: number; to: number; weight?: number; reason?: string }[];
}

const path = (name: string, step: string) => `/deployments/${encodeURIComponent(name)}/${step}`;

/** The split, each version's figures over the analysis window, the verdict and the history. */
export function formatRollout(r: RolloutView): string {
  const rows = r.versions.map((v) => [
    `${v.version}${v.version === r.stable ? ' (stable)' : ''}`,
    v.model.path ?? v.model.url ?? '',
    `${v.weight}%`,
    `${v.effectiveWeight}%`,
    v.ready ? 'yes' : 'no',
    String(v.window.requests),
    String(v.window.errors),
    v.window.ttftP90Ms === null ? '-' : `${Math.round(v.window.ttftP90Ms)} ms`,
  ]);
  const lines = [
    table([['VERSION', 'MODEL', 'WEIGHT', 'IN FORCE', 'READY', 'REQUESTS', 'ERRORS', 'TTFT P90'], ...rows]),
  ];
  if (r.verdict) lines.push(`canary: ${r.verdict.action} (${r.verdict.reason})`);
  for (const e of r.history.slice(-10)) {
    const what =
      e.action === 'rollout' ? `rollout ${e.to} at ${e.weight}%` : `${e.action} ${e.from} -> ${e.to}`;
    lines.push(`${new Date(e.at).toISOString()} ${what}${e.reason ? `: ${e.reason}` : ''}`);
  }
  return lines.join('\n');
}

const number = (cmd: Command, flag: string, value: string): number => {
  if (!/^\d+$/.test(value)) usageError(cmd, `${flag} takes a whole number, not '${value}'`);
  return Number(value);
};

/** rollout, promote, rollback, versions: a deployment's versions through the admin API. */
export function addRolloutCommands(program: Command): void {
  program
    .command('rollout')
    .description("send a share of a deployment's requests to another of its versions (a canary)")
    .argument('<name>', 'the deployment')
    .requiredOption('--to <version>', "the version (listed in the deployment's versions)")
    .requiredOption('--weight <percent>', 'its share of requests, 0-100; the stable version takes the rest')
    .action(async (name: string, o: { to: string; weight: string }, cmd: Command) => {
      const body = { to: number(cmd, '--to', o.to), weight: number(cmd, '--weight', o.weight) };
      const r = await adminOf(cmd).call<RolloutView>('POST', path(name, 'rollout'), body);
      console.log(formatRollout(r));
    });

  program
    .command('promote')
    .description('make the canary (or --to) the stable version, with all the requests')
    .argument('<name>', 'the deployment')
    .option('--to <version>', 'the version to promote (default: the canary)')
    .action(async (name: string, o: { to?: string }, cmd: Command) => {
      const body = o.to === undefined ? {} : { to: number(cmd, '--to', o.to) };
      const r = await adminOf(cmd).call<RolloutView>('POST', path(name, 'promote'), body);
      console.log(formatRollout(r));
    });

  program
    .command('rollback')
    .description('all requests back to the stable version; without a canary, back to the previous stable')
    .argument('<name>', 'the deployment')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const r = await adminOf(cmd).call<RolloutView>('POST', path(name, 'rollback'), {});
      console.log(formatRollout(r));
    });

  program
    .command('versions')
    .description("a deployment's versions: the split, their requests, errors and TTFT, the history")
    .argument('<name>', 'the deployment')
    .option('--json', JSON_HELP)
    .action(async (name: string, o: { json?: boolean }, cmd: Command) => {
      const r = await adminOf(cmd).get<RolloutView>(path(name, 'rollout'));
      if (o.json) printJson(r);
      else console.log(formatRollout(r));
    });
}
