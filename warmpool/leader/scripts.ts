// Lua run inside Redis so that each check-then-write is atomic. KEYS[1] is the lease hash
// (holder, token; expires with PEXPIRE), KEYS[2] the fencing-token counter (never expires).

/**
 * ARGV: holder, ttlMs. Returns the new token, or nil when someone holds the lease.
 * A missing counter is seeded from the Redis server's clock in ms, not from 0: a restart that loses
 * the data (no persistence) then still hands out tokens above any issued before it, so a leader
 * from before the restart stays fenced off.
 */
export const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return nil end
if redis.call('EXISTS', KEYS[2]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[2], string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)))
end
local token = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'token', token)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return token
`;

/** ARGV: holder, token, ttlMs. 1 when the caller still held the lease and it was extended, else 0. */
export const RENEW = `
local cur = redis.call('HMGET', KEYS[1], 'holder', 'token')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

/** ARGV: holder, token. 1 when the caller held the lease and it was deleted, else 0. */
export const RELEASE = `
local cur = redis.call('HMGET', KEYS[1], 'holder', 'token')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`;

/** Returns { holder, token, pttl } or nil, read in one step so the three agree. */
export const CURRENT = `
local cur = redis.call('HMGET', KEYS[1], 'holder', 'token')
if not cur[1] then return nil end
return { cur[1], cur[2], redis.call('PTTL', KEYS[1]) }
`;

/**
 * KEYS[3]: the key to write. ARGV: token, value. 1 when written, 0 when refused.
 * The rule: a write passes only if the caller's token is >= the newest token ever issued (the
 * counter, which equals the token stored with the lease while one is held). Once a new leader has
 * acquired, every older token is refused, even before the new leader writes anything. No counter
 * means Redis lost its data since any token was issued, so every token is refused until the next
 * acquire (which seeds the counter above all earlier tokens).
 */
export const FENCED_SET = `
local newest = redis.call('GET', KEYS[2])
if not newest or tonumber(ARGV[1]) < tonumber(newest) then return 0 end
redis.call('SET', KEYS[3], ARGV[2])
return 1
`;
