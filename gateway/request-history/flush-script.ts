import type { Redis } from 'ioredis';
import type { KeyWrite } from './write-buffer.ts';

/**
 * One flush is one EVALSHA of this script, whatever the number of keys, so a gateway's history writes
 * cost one Redis command per flush. ARGV per key: kind ('h' hash, 'p' page), expireAt, n, then n pairs
 * (field or slot, increment). Each increment runs under pcall so one bad key cannot stop the others;
 * the reply is [firstError, key index, field, key index, field, ...] of what failed ('' field: the
 * expiry), so only that is retried and counts that landed are not added twice.
 */
const FLUSH_LUA = `
local failed = { '' }
local function note(i, f, r)
  if type(r) == 'table' and r.err then
    if failed[1] == '' then failed[1] = r.err end
    failed[#failed + 1] = i
    failed[#failed + 1] = f
  end
end
local a = 1
for i = 1, #KEYS do
  local kind, exp, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  a = a + 3
  for _ = 1, n do
    local f, v = ARGV[a], ARGV[a + 1]
    a = a + 2
    if kind == 'h' then
      note(i, f, redis.pcall('HINCRBY', KEYS[i], f, v))
    else
      note(i, f, redis.pcall('BITFIELD', KEYS[i], 'OVERFLOW', 'SAT', 'INCRBY', 'u32', '#' .. f, v))
    end
  end
  note(i, '', redis.pcall('PEXPIREAT', KEYS[i], exp))
end
return failed
`;

const COMMAND = 'wgHistoryFlush';

type FlushReply = [string, ...(number | string)[]];
type Arg = string | number;
/** ioredis flattens array arguments, which keeps huge flushes off the JS call stack. */
export type WithFlush = Redis & { [COMMAND](numKeys: number, keys: Arg[], argv: Arg[]): Promise<FlushReply> };

/** Registers the script on `client` once (ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT). */
export function withFlushCommand(client: Redis): WithFlush {
  const c = client as WithFlush;
  if (typeof c[COMMAND] !== 'function') client.defineCommand(COMMAND, { lua: FLUSH_LUA });
  return c;
}

/** Sends `writes` as one command; resolves to the writes (or parts of them) that failed, and why. */
export async function sendFlush(
  client: WithFlush,
  writes: readonly KeyWrite[],
): Promise<{ failed: KeyWrite[]; error: Error | null }> {
  const keys: string[] = [];
  const argv: Arg[] = [];
  for (const w of writes) {
    keys.push(w.key);
    const fields = Object.entries(w.incr).filter(([, n]) => n !== 0);
    argv.push(w.kind === 'hash' ? 'h' : 'p', w.expireAt, fields.length);
    for (const [f, n] of fields) argv.push(f, n);
  }
  const [firstError, ...pairs] = await client[COMMAND](keys.length, keys, argv);
  const retry = new Map<string, KeyWrite>();
  for (let i = 0; i < pairs.length; i += 2) {
    const w = writes[Number(pairs[i]) - 1]!;
    const field = String(pairs[i + 1]);
    let again = retry.get(w.key);
    if (again === undefined) retry.set(w.key, (again = { ...w, incr: {} }));
    if (field !== '') again.incr[field] = w.incr[field]!;
  }
  return { failed: [...retry.values()], error: firstError === '' ? null : new Error(firstError) };
}
