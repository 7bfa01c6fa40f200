import type { Command } from 'commander';
import { commandPath } from './one-line-errors.ts';

/** `warmgate completion`: a bash completion script made from the command tree, so it never drifts. */
export function addCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a bash completion script')
    .addHelpText(
      'after',
      '\nUse:\n  source <(warmgate completion)         # this shell\n  warmgate completion > /etc/bash_completion.d/warmgate',
    )
    .action(() => console.log(bashCompletion(program)));
}

function commands(c: Command): Command[] {
  return [c, ...c.commands.flatMap(commands)];
}

/**
 * Completes command names and long options word by word: the words typed so far that name a
 * subcommand select the command whose words are offered. Anything else (a deployment file, a name)
 * falls back to bash's default, file names.
 */
export function bashCompletion(program: Command): string {
  const cases = commands(program).map((c) => {
    const words = [
      ...c.commands.map((s) => s.name()),
      ...c.options.flatMap((o) => (o.long ? [o.long] : [])),
      '--help',
    ];
    const path = commandPath(c).split(' ').slice(1).join(' ');
    return `    "${path}") echo "${words.join(' ')}" ;;`;
  });
  return [
    '# bash completion for warmgate (warmgate completion)',
    '_warmgate_words() {',
    '  case "$1" in',
    ...cases,
    '  esac',
    '}',
    '_warmgate() {',
    '  local path="" w',
    '  for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do',
    '    [[ $w == -* ]] && continue',
    '    case " $(_warmgate_words "$path") " in *" $w "*) path="${path:+$path }$w" ;; esac',
    '  done',
    '  COMPREPLY=($(compgen -W "$(_warmgate_words "$path")" -- "${COMP_WORDS[COMP_CWORD]}"))',
    '}',
    'complete -o default -F _warmgate warmgate',
  ].join('\n');
}
