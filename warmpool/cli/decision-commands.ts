import type { Command } from 'commander';
import { adminOf, FOLLOW_INTERVAL_MS, JSON_HELP, printJson, sleep } from './admin-context.ts';
import { DecisionChanges } from './decision-changes.ts';
import { type DecisionRow, formatDecision } from './format.ts';

interface DecisionOptions {
  follow?: boolean;
  all?: boolean;
  json?: boolean;
}

/** decisions: the controller's scaling decisions with their reasons, printed when they change. */
export function addDecisionCommands(program: Command): void {
  program
    .command('decisions')
    .description("the controller's scaling decisions with their reasons, each printed when it changes")
    .argument('[name]', 'only this deployment')
    .option('-f, --follow', 'keep printing new decisions as they are made')
    .option('--all', "every tick's decision, also when it repeats the one before")
    .option('--json', `${JSON_HELP}; with --follow, one decision per line`)
    .addHelpText(
      'after',
      `
A decision is printed when its target, the instances it counted or the kind of its reason changes
(the controller decides every tick; most ticks repeat the last decision).`,
    )
    .action(async (name: string | undefined, o: DecisionOptions, cmd: Command) => {
      const admin = adminOf(cmd);
      const q = name === undefined ? '' : `?deployment=${encodeURIComponent(name)}`;
      const changes = new DecisionChanges({ all: o.all ?? false });
      for (;;) {
        const r = await admin.get<{ decisions: DecisionRow[] }>(`/decisions${q}`);
        if (o.json && !o.follow) return printJson(r);
        for (const d of changes.next(r.decisions))
          console.log(o.json ? JSON.stringify(d) : formatDecision(d));
        if (!o.follow) return;
        await sleep(FOLLOW_INTERVAL_MS);
      }
    });
}
