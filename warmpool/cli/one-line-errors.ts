import { type Command, CommanderError } from 'commander';

/** Exit statuses: 0 done, 1 the work failed (the gateway refused, could not be reached), 2 bad usage. */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** `warmgate keys create`: the words that run `cmd`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Everything on one line: commander's suggestions come on a line of their own. */
function oneLine(text: string): string {
  return text
    .replace(/^error: /, '')
    .replace(/\s*\n\s*\(Did you mean (.+)\?\)/, ' (did you mean $1?)')
    .replace(/\s*\n\s*/g, ' ')
    .trim()
    .replace(/\.$/, '');
}

/**
 * Makes every command of the tree answer a bad argument, option or command with one line on stderr
 * saying what to type instead, and throw (exitOverride) rather than exit, so main.ts sets the status.
 * Called once the tree is built: commander copies these settings only to commands added later.
 */
export function oneLineErrors(root: Command): void {
  const visit = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.configureOutput({
      outputError: (text, write) => write(`warmgate: ${oneLine(text)}; see '${commandPath(cmd)} --help'\n`),
    });
    for (const sub of cmd.commands) visit(sub);
  };
  visit(root);
}

/** A usage error found by a command itself (a file that is no deployment): one line, exit 2. */
export function usageError(cmd: Command, message: string): never {
  cmd.error(message, { exitCode: EXIT_USAGE, code: 'warmgate.usage' });
  throw new Error('unreachable'); // cmd.error throws under exitOverride
}

/**
 * What a failed run prints and the exit status it gets. Commander's own errors were printed as they
 * happened (help and --version end with 0); anything else is a failure told in one line, never a stack.
 */
export function exitStatusOf(e: unknown, writeErr: (line: string) => void): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_USAGE;
  const message = e instanceof Error ? e.message : String(e);
  writeErr(`warmgate: ${oneLine(message)}\n`);
  return EXIT_FAILED;
}
