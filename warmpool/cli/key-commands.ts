import { type Command, InvalidArgumentError } from 'commander';
import { adminOf, JSON_HELP, printJson } from './admin-context.ts';
import { formatKeys, type KeyRow } from './format.ts';

interface CreateOptions {
  rps?: number;
  burst?: number;
  tokensPerMinute?: number;
  tokensPerDay?: number;
  maxConcurrent?: number;
}

const number = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
};

/** keys create | list | revoke: API keys for the public API. */
export function addKeyCommands(program: Command): void {
  const keys = program.command('keys').description('API keys: create, list, revoke');

  keys
    .command('create')
    .description('a new API key; its secret is printed once, alone on the first line')
    .argument('<name>', 'what the key is for, e.g. ci-bot')
    .option('--rps <n>', 'requests per second', number)
    .option('--burst <n>', 'requests allowed at once above the rate', number)
    .option('--tokens-per-minute <n>', 'prompt + generated tokens per minute', number)
    .option('--tokens-per-day <n>', 'prompt + generated tokens per day', number)
    .option('--max-concurrent <n>', 'requests in flight at once', number)
    .addHelpText('after', '\nExample:\n  KEY=$(warmgate keys create ci-bot --rps 5 | head -1)')
    .action(async (name: string, o: CreateOptions, cmd: Command) => {
      const limits = {
        ...(o.rps !== undefined && { requestsPerSecond: o.rps }),
        ...(o.burst !== undefined && { burst: o.burst }),
        ...(o.tokensPerMinute !== undefined && { tokensPerMinute: o.tokensPerMinute }),
        ...(o.tokensPerDay !== undefined && { tokensPerDay: o.tokensPerDay }),
        ...(o.maxConcurrent !== undefined && { maxConcurrentRequests: o.maxConcurrent }),
      };
      const created = await adminOf(cmd).call<KeyRow & { key: string }>('POST', '/keys', { name, limits });
      // The secret first and alone on its line, so a script can take it with `head -1`.
      console.log(created.key);
      console.log(`created API key ${created.id} (${created.name}); the key above is shown only once`);
    });

  keys
    .command('list')
    .description('API keys with their limits (never their secrets)')
    .option('--json', JSON_HELP)
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const r = await adminOf(cmd).get<{ keys: KeyRow[] }>('/keys');
      if (o.json) printJson(r);
      else console.log(formatKeys(r.keys));
    });

  keys
    .command('revoke')
    .description('revoke a key: every gateway refuses it from then on')
    .argument('<id>', "the key's id (the 12 hex digits after wg_)")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      await adminOf(cmd).call('DELETE', `/keys/${encodeURIComponent(id)}`);
      console.log(`revoked ${id}`);
    });
}
