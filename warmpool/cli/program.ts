import { Command, Option } from 'commander';
import { addCompletionCommand } from './completion-command.ts';
import { addDecisionCommands } from './decision-commands.ts';
import { addDeploymentCommands } from './deployment-commands.ts';
import { addImportCommand } from './import-command.ts';
import { addInstanceCommands } from './instance-commands.ts';
import { addKeyCommands } from './key-commands.ts';
import { addRolloutCommands } from './rollout-commands.ts';
import { addStatusCommand } from './status-command.ts';
import { addHelpCommands } from './help-command.ts';
import { oneLineErrors } from './one-line-errors.ts';
import { packageVersion } from './package-version.ts';

/** The warmgate command line: every command, its help, and one-line answers to bad usage. */
export function buildProgram(): Command {
  const program = new Command('warmgate')
    .description(
      "warmgate's command line: deployments, instances, decisions and API keys over a gateway's admin API",
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print this help')
    .addOption(
      new Option('--url <url>', "the gateway's base URL")
        .env('WARMGATE_URL')
        .default('http://127.0.0.1:8080'),
    )
    .addOption(new Option('--token <token>', 'the admin token').env('WARMGATE_ADMIN_TOKEN'))
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `
Examples:
  warmgate deploy tiny.yaml
  warmgate list
  warmgate status
  warmgate rollout tiny --to 2 --weight 20
  warmgate decisions tiny --follow
  warmgate logs tiny --lines 20
  warmgate help keys

Exit status: 0 done, 1 the gateway refused or could not be reached, 2 bad usage.`,
    );
  addDeploymentCommands(program);
  addRolloutCommands(program);
  addInstanceCommands(program);
  addDecisionCommands(program);
  addStatusCommand(program);
  addKeyCommands(program);
  addImportCommand(program);
  addCompletionCommand(program);
  addHelpCommands(program);
  oneLineErrors(program);
  return program;
}
