/**
 * When a user's throttle hash expires: the Lua function the scripts that
 * change a user's factors, enrollment or throttle end with.
 *
 * The rule, the same in every store: the throttle state of a user with no
 * active factor stops mattering at `max(otp:blockedUntil,
 * recovery:blockedUntil, the pending enrollment's expiresAt if any) +
 * throttleRetentionMs`. A lock therefore outlives `disable` by the retention
 * (7 days by default) after the last attempt, and then goes, instead of
 * staying forever. A user with an active factor keeps the hash without
 * expiry: its failure count is what locks the factor, and a TTL would let an
 * attacker wait the lock out.
 *
 * The times are the service's (the `now` of each call), set with `PEXPIREAT`
 * and so counted by the Redis server's clock; the retention is far longer
 * than any clock difference worth having.
 * @module
 */

/**
 * `settle(retention)`, for scripts that get the user's seven keys (KEYS[1]
 * factors, KEYS[2] enrollment, KEYS[5] throttle): `PERSIST` when the user has
 * an active factor, else `PEXPIREAT` at the rule's time. Nothing when there is
 * no throttle hash. A time already past deletes the hash at once.
 */
export const SETTLE_THROTTLE = `
local function settle(retention)
  if redis.call('EXISTS', KEYS[5]) == 0 then return end
  if redis.call('HLEN', KEYS[1]) > 0 then
    redis.call('PERSIST', KEYS[5])
    return
  end
  local t = redis.call('HMGET', KEYS[5], 'otp:blockedUntil', 'recovery:blockedUntil')
  local at = math.max(tonumber(t[1] or '0'), tonumber(t[2] or '0'))
  local raw = redis.call('GET', KEYS[2])
  if raw then at = math.max(at, tonumber(cjson.decode(raw).expiresAt)) end
  redis.call('PEXPIREAT', KEYS[5], string.format('%d', at + tonumber(retention)))
end`;
