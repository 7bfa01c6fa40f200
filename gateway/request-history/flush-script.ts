import type { Redis } from 'ioredis';
import type { KeyWrite } from './write-buffer.ts';

/**
 * One flush is one EVALSHA of this script, whatever the number of keys, so a gateway's history writes
 * cost one Redis command per flush. KEYS[1] is the store's fence (below), then the data keys. ARGV: the
 * flush's sequence number, the fence's expiry, then per data key: kind ('h' hash, 'p' page), expireAt,
 * n, then n pairs (field or slot, increment). Each increment runs under pcall so one bad key cannot stop
 * the others; the reply is [firstError, key index, field, key index, field, ...] of what failed ('' field:
 * the expiry; indexes count data keys from 1), so only that is retried and counts that landed are not
 * added twice.
 *
 * The fence makes a flush land at most once. A flush whose reply is lost (the connection dropped, Redis
 * killed mid-reply) may or may not have run, and ioredis may resend it on reconnect. The fence hash holds
 * `applied`, the last sequence number that ran, with its reply, and `floor`, below which none may run any
 * more. Flushes of one store are serialized and each unknown outcome is settled (FENCE_LUA) before the
 * next is sent, so a repeat of the flush that ran gets that flush's reply back without running again,
 * and a flush settled as lost can no longer run late.
 */
const FLUSH_LUA = `
local seq = tonumber(ARGV[1])
local applied = tonumber(redis.call('HGET', KEYS[1], 'applied') or '0')
if seq <= applied then return cjson.decode(redis.call('HGET', KEYS[1], 'reply')) end
if seq <= tonumber(redis.call('HGET', KEYS[1], 'floor') or '0') then return { 'WGFENCED' } end
local failed = { '' }
local function note(i, f, r)
  if type(r) == 'table' and r.err then
    if failed[1] == '' then failed[1] = r.err end
    failed[#failed + 1] = i - 1
    failed[#failed + 1] = f
  end
end
local a = 3
for i = 2, #KEYS do
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
redis.call('HSET', KEYS[1], 'applied', seq, 'reply', cjson.encode(failed))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return failed
`;

/**
 * Settles a flush whose outcome is unknown: replies [1, its reply] if it ran, else raises the floor past
 * it (so a late resend cannot run) and replies [0].
 */
const FENCE_LUA = `
local seq = tonumber(ARGV[1])
if seq <= tonumber(redis.call('HGET', KEYS[1], 'applied') or '0') then
  return { 1, cjson.decode(redis.call('HGET', KEYS[1], 'reply')) }
end
redis.call('HSET', KEYS[1], 'floor', seq)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return { 0 }
`;

const COMMAND = 'wgHistoryFlush';
const FENCE = 'wgHistoryFence';

type FlushReply = [string, ...(number | string)[]];
type Arg = string | number;
/** ioredis flattens array arguments, which keeps huge flushes off the JS call stack. */
export type WithFlush = Redis & {
  [COMMAND](numKeys: number, keys: Arg[], argv: Arg[]): Promise<FlushReply>;
  [FENCE](numKeys: number, fence: string, seq: number, ttlMs: number): Promise<[0] | [1, FlushReply]>;
};

/** Registers the scripts on `client` once (ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT). */
export function withFlushCommand(client: Redis): WithFlush {
  const c = client as WithFlush;
  if (typeof c[COMMAND] !== 'function') client.defineCommand(COMMAND, { lua: FLUSH_LUA });
  if (typeof c[FENCE] !== 'function') client.defineCommand(FENCE, { lua: FENCE_LUA });
  return c;
}

/** Which store's flush, and how long its fence is kept (the longest retention: older counts are gone). */
export interface FlushFence {
  key: string;
  seq: number;
  ttlMs: number;
}

export type FlushOutcome = { failed: KeyWrite[]; error: Error | null };

/** The flush `fence.seq`, whose reply was lost: what it left unwritten if it ran, null if it did not. */
export async function settleFlush(
  client: WithFlush,
  fence: FlushFence,
  writes: readonly KeyWrite[],
): Promise<FlushOutcome | null> {
  const reply = await client[FENCE](1, fence.key, fence.seq, fence.ttlMs);
  return reply[0] === 1 ? outcomeOf(reply[1], writes) : null;
}

/**
 * Sends `writes` as one command; resolves to the writes (or parts of them) that failed, and why. Rejects
 * when the outcome is unknown (settle it with settleFlush before the next flush).
 */
export async function sendFlush(
  client: WithFlush,
  fence: FlushFence,
  writes: readonly KeyWrite[],
): Promise<FlushOutcome> {
  const keys: string[] = [fence.key];
  const argv: Arg[] = [fence.seq, fence.ttlMs];
  for (const w of writes) {
    keys.push(w.key);
    const fields = Object.entries(w.incr).filter(([, n]) => n !== 0);
    argv.push(w.kind === 'hash' ? 'h' : 'p', w.expireAt, fields.length);
    for (const [f, n] of fields) argv.push(f, n);
  }
  const reply = await client[COMMAND](keys.length, keys, argv);
  // Settled as lost earlier, so it did not run: everything is still to be written.
  if (reply[0] === 'WGFENCED') return { failed: [...writes], error: new Error('history flush fenced off') };
  return outcomeOf(reply, writes);
}

function outcomeOf([firstError, ...pairs]: FlushReply, writes: readonly KeyWrite[]): FlushOutcome {
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
