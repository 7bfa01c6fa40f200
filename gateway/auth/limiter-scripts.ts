// Lua run inside Redis so that each check-and-take is atomic across replicas, in one round trip. Time is
// the Redis server's (TIME), so replicas with skewed clocks still share one bucket and one set of windows.
// KEYS[1]: the key's hash (bucket: tokens, ts; quota windows: mw, mt, dw, dt). KEYS[2]: its leases, a
// sorted set of lease id -> expiry (ms), so a crashed gateway's leases lapse on their own.

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** Both hashes live two days: long enough for the day window. */
const KEEP_MS = 2 * 86_400_000;

/**
 * ARGV: rate (per s, 0 = none), burst, tokens per minute, tokens per day, max concurrent (0 = none), lease
 * id, lease ttl ms. Returns { outcome, retryAfterMs }: 0 admitted, 1 rate, 2 minute quota, 3 day quota,
 * 4 concurrency. Nothing is taken unless every check passes.
 */
export const ADMIT = `${NOW}
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local tpm, tpd, maxc = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local h = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'mw', 'mt', 'dw', 'dt')
local mw, dw = math.floor(now / 60000), math.floor(now / 86400000)
if tpd > 0 and tonumber(h[5]) == dw and tonumber(h[6]) >= tpd then return { 3, (dw + 1) * 86400000 - now } end
if tpm > 0 and tonumber(h[3]) == mw and tonumber(h[4]) >= tpm then return { 2, (mw + 1) * 60000 - now } end
if maxc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= maxc then return { 4, 1000 } end
end
if rate > 0 then
  local tokens = burst
  local last = tonumber(h[2])
  if last then tokens = math.min(burst, tonumber(h[1]) + math.max(0, now - last) * rate / 1000) end
  if tokens < 1 then return { 1, math.ceil((1 - tokens) * 1000 / rate) } end
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'ts', now)
  redis.call('PEXPIRE', KEYS[1], ${KEEP_MS})
end
if maxc > 0 then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[7]), ARGV[6])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[7]))
end
return { 0, 0 }
`;

/** ARGV: lease id ('' for none), tokens used. Gives the lease back and counts the tokens in both windows. */
export const FINISH = `
if ARGV[1] ~= '' then redis.call('ZREM', KEYS[2], ARGV[1]) end
local n = tonumber(ARGV[2])
if n <= 0 then return 0 end
${NOW}
local mw, dw = math.floor(now / 60000), math.floor(now / 86400000)
local h = redis.call('HMGET', KEYS[1], 'mw', 'dw')
if tonumber(h[1]) == mw then redis.call('HINCRBY', KEYS[1], 'mt', n) else redis.call('HSET', KEYS[1], 'mw', mw, 'mt', n) end
if tonumber(h[2]) == dw then redis.call('HINCRBY', KEYS[1], 'dt', n) else redis.call('HSET', KEYS[1], 'dw', dw, 'dt', n) end
redis.call('PEXPIRE', KEYS[1], ${KEEP_MS})
return 1
`;

/** Reads, takes nothing: { tokens this minute, tokens today, leases not expired }. */
export const USAGE = `${NOW}
local mw, dw = math.floor(now / 60000), math.floor(now / 86400000)
local h = redis.call('HMGET', KEYS[1], 'mw', 'mt', 'dw', 'dt')
local mt = (tonumber(h[1]) == mw) and tonumber(h[2]) or 0
local dt = (tonumber(h[3]) == dw) and tonumber(h[4]) or 0
return { mt, dt, redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf') }
`;

/** KEYS[1]: leases. ARGV: lease id, ttl ms. Extends a lease still held (a long stream). */
export const RENEW = `${NOW}
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return 1
`;
