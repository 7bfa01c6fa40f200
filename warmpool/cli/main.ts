#!/usr/bin/env node
/**
 * warmgate: the operator's command line, over the gateway's admin API (`warmgate --help` lists the
 * commands; program.ts builds them, one file per group). Bad usage is answered in one line and exits
 * 2; a refusal of the gateway in one line with its status and code, exiting 1; never a stack trace.
 */
import { exitStatusOf } from './one-line-errors.ts';
import { buildProgram } from './program.ts';

// A reader that stops early (`warmgate decisions --follow | head`) closes the pipe: that ends us quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

try {
  await buildProgram().parseAsync(process.argv);
} catch (e) {
  process.exitCode = exitStatusOf(e, (line) => process.stderr.write(line));
}
