import type { Command } from 'commander';
import { usageError } from './one-line-errors.ts';

/**
 * `warmgate help [command...]` and `warmgate keys help [command...]`: the help of a command, nested
 * ones too (`help keys create`). Commander's own help commands print the whole usage, as an error, for
 * a name they do not know; these say so in one line. Called once every other command is added.
 */
export function addHelpCommands(program: Command): void {
  const groups: Command[] = [];
  const visit = (c: Command): void => {
    c.helpCommand(false);
    if (c.commands.length > 0) groups.push(c);
    c.commands.forEach(visit);
  };
  visit(program);
  for (const group of groups) addHelpCommand(group);
}

function addHelpCommand(group: Command): void {
  group
    .command('help')
    .description(`print the help of a command, e.g. ${group.parent ? 'help create' : 'help keys create'}`)
    .argument('[command...]', 'the command')
    .action((names: string[]) => {
      let target = group;
      for (const [i, name] of names.entries()) {
        const sub = target.commands.find((c) => c.name() === name && c.name() !== 'help');
        if (!sub) usageError(group, `unknown command '${names.slice(0, i + 1).join(' ')}'`);
        target = sub;
      }
      target.outputHelp();
    });
}
