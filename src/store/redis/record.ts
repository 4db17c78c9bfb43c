/**
 * A user's keys as a record: the Lua prelude every factor script starts with
 * (the in-place upgrade of 0.1.0 keys, and the shared helpers) and the
 * decoding of the reply that reads them.
 * @module
 */
import { describe } from '../../_assert.ts';
import type { AccountState, ThrottleScope, ThrottleState, UserRecord } from '../contract.ts';
import { isEmptyRecord } from '../throttle.ts';
import { decodeAccount, decodeFactors, decodePending } from '../_codec.ts';
import { toInteger, toText } from '../_database.ts';

// Number arguments are sent as decimal strings formatted by JavaScript and
// stored as given; Lua converts them with tonumber() only to compare or add.
// Lua numbers are doubles, exact for the safe integers the contract uses, and
// Redis writes a number argument to a command with 17 significant digits.

/**
 * Every script that reads or writes a user's factors gets the user's keys in
 * this order: factors, enrollment, salt, codes, throttle, erased, account
 * (the layout of `layout.ts`, tagged with the encoded user id). Outside Redis
 * Cluster seven more follow: the first five again, then 0.1.0's factor and
 * pending, in the layout before 0.2 (`prefix{userId}:name`).
 *
 * The prelude's upgrades run first in each script:
 *
 * - `upgrade()` moves the earlier layout's five keys to the new names (a new
 *   key that already exists wins, and the earlier one is deleted), then moves
 *   a 0.1.0 factor hash into the `factors` hash (named "Authenticator") and a
 *   0.1.0 pending hash into the `enrollment` string (its TTL kept; replacing
 *   that factor once bound, as 0.1.0's `replaceActive` did). Under an erasure
 *   guard it deletes them instead. Given the earlier layout's seven keys
 *   alone (its five and 0.1.0's two, as the Cluster key migration passes
 *   them, told apart from the current seven by the `:factors` name), only
 *   the 0.1.0 part runs. On Cluster the scripts get the seven current keys
 *   alone: the earlier layout lives in other slots there, and
 *   `RedisStore.migrateKeys()` moves it.
 * - `upgradeGuesses()` gives a throttle hash written by 0.2 (failures without
 *   guesses) its guesses as 0.2 counted them: `otp:failures × max(1, active
 *   factors)`, and `recovery:failures` as they are (0.2 locked recovery at
 *   `maxFailures` failures, whatever the factors). It writes them before any
 *   script can change the factors, so that removing one cannot lower them; on
 *   Cluster too (the hash is in the user's slot).
 *
 * `erased(at)` says whether the erasure guard (`deleteUser`) is in force at
 * the service's time `at`: its key exists (Redis drops it `guardMs` after
 * the erasure) and `at < until`. Every script that may create a key checks it
 * first; the others only change keys that exist, and none exists under a
 * guard.
 *
 * The account document (0.3) needs no upgrade: a user without the `account`
 * hash reads as no document, version 0. See `account.ts` for its writes.
 */

/** The upgrade of earlier layouts' keys, and helpers every factor script shares. */
export const PRELUDE = `
local function hash(key)
  local flat = redis.call('HGETALL', key)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end
local function erased(at)
  local u = redis.call('GET', KEYS[6])
  return u ~= false and tonumber(at) < tonumber(u)
end
local function upgrade()
  local factorKey, pendingKey = KEYS[6], KEYS[7]
  if #KEYS == 14 then
    if redis.call('EXISTS', KEYS[6]) == 1 then
      redis.call('DEL', KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[14])
      return
    end
    for i = 1, 5 do
      if redis.call('EXISTS', KEYS[i + 7]) == 1 then
        if redis.call('EXISTS', KEYS[i]) == 0 then redis.call('RENAME', KEYS[i + 7], KEYS[i])
        else redis.call('DEL', KEYS[i + 7]) end
      end
    end
    factorKey, pendingKey = KEYS[13], KEYS[14]
  elseif #KEYS ~= 7 or string.sub(KEYS[1], -8) ~= ':factors' then
    return
  end
  local legacy = nil
  if redis.call('EXISTS', factorKey) == 1 then
    local f = hash(factorKey)
    legacy = f.id
    redis.call('HSET', KEYS[1], f.id, cjson.encode({id = f.id, name = 'Authenticator',
      nameKey = 'authenticator', sealedSecret = f.secret, algorithm = f.algorithm,
      digits = f.digits, period = f.period, lastStep = f.lastStep, drift = f.drift,
      createdAt = f.activatedAt, activatedAt = f.activatedAt, lastUsedAt = cjson.null}))
    redis.call('DEL', factorKey)
  end
  if redis.call('EXISTS', pendingKey) == 1 then
    local p = hash(pendingKey)
    local ttl = redis.call('PTTL', pendingKey)
    redis.call('SET', KEYS[2], cjson.encode({id = p.id, name = 'Authenticator',
      nameKey = 'authenticator', sealedSecret = p.secret, algorithm = p.algorithm,
      digits = p.digits, period = p.period, createdAt = p.createdAt, expiresAt = p.expiresAt,
      replaceFactorId = legacy or cjson.null}))
    if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
    redis.call('DEL', pendingKey)
  end
end
upgrade()
local function upgradeGuesses()
  local t = redis.call('HMGET', KEYS[5], 'otp:failures', 'otp:guesses', 'recovery:failures',
    'recovery:guesses')
  if t[1] and not t[2] then
    local weight = math.max(1, redis.call('HLEN', KEYS[1]))
    redis.call('HSET', KEYS[5], 'otp:guesses', tonumber(t[1]) * weight)
  end
  if t[3] and not t[4] then redis.call('HSET', KEYS[5], 'recovery:guesses', t[3]) end
end
upgradeGuesses()
local function digestOf(value)
  if type(value) == 'string' then return value end
  return nil
end
local function conflicts(nameKey, digest, except)
  local twin, taken = nil, false
  for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
    local f = cjson.decode(v)
    if f.id ~= except then
      if digest ~= nil and twin == nil and digestOf(f.secretDigest) == digest then twin = f.id end
      if f.nameKey == nameKey then taken = true end
    end
  end
  return twin, taken
end
local function firstSet(first, a, from)
  if first then
    redis.call('DEL', KEYS[3], KEYS[4])
    if a[from] == '1' then
      redis.call('SET', KEYS[3], a[from + 1])
      if #a > from + 1 then redis.call('RPUSH', KEYS[4], unpack(a, from + 2)) end
    end
  end
end
local function user()
  return {
    redis.call('HGETALL', KEYS[1]),
    redis.call('GET', KEYS[2]),
    redis.call('GET', KEYS[3]),
    redis.call('LRANGE', KEYS[4], 0, -1),
    redis.call('HGETALL', KEYS[5]),
    redis.call('HMGET', KEYS[7], 'v', 'doc')
  }
end`;

export function toArray(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`the store returned a bad "${field}": ${describe(value)}`);
  }
  return value;
}

/** A flat HGETALL reply as a map (an empty map for a missing key). */
function toHash(value: unknown, field: string): Map<string, unknown> {
  const flat = toArray(value, field);
  const hash = new Map<string, unknown>();
  for (let i = 0; i + 1 < flat.length; i += 2) hash.set(toText(flat[i], field), flat[i + 1]);
  return hash;
}

/**
 * A scope's state in the throttle hash. The prelude wrote the guesses of a
 * hash written by 0.2, so a missing field is 0 here.
 */
function toThrottle(hash: Map<string, unknown>, scope: ThrottleScope): ThrottleState {
  const field = (name: string) => `${scope}:${name}`;
  return {
    failures: toInteger(hash.get(field('failures')) ?? 0, field('failures')),
    guesses: toInteger(hash.get(field('guesses')) ?? 0, field('guesses')),
    blockedUntil: toInteger(hash.get(field('blockedUntil')) ?? 0, field('blockedUntil')),
  };
}

/**
 * The `account` part of a user's reply (`HMGET v doc`): the document and its
 * version, or `null` and 0 when there is none.
 */
export function toAccount(value: unknown): { account: AccountState | null; version: number } {
  const [v, doc] = value == null ? [null, null] : toArray(value, 'account');
  if (v == null || doc == null) return { account: null, version: 0 };
  return {
    account: decodeAccount(toText(doc, 'account.doc')),
    version: toInteger(v, 'account.v'),
  };
}

/** GET_USER's reply, or the first six parts of READ_AND_RESERVE's, as a record. */
export function toRecord(userId: string, reply: unknown[]): UserRecord | null {
  const [factorsReply, enrollmentReply, saltReply, codesReply, throttleReply, accountReply] = reply;
  const throttle = toHash(throttleReply, 'throttle');
  const { account, version } = toAccount(accountReply);
  const record: UserRecord = {
    userId,
    factors: decodeFactors(toHash(factorsReply, 'factors').values()),
    pending: enrollmentReply == null ? null : decodePending(toText(enrollmentReply, 'enrollment')),
    recoveryCodes:
      saltReply == null
        ? null
        : {
            salt: toText(saltReply, 'recovery.salt'),
            hashes: toArray(codesReply, 'recovery.codes').map((hash) =>
              toText(hash, 'recovery.codes'),
            ),
          },
    throttle: { otp: toThrottle(throttle, 'otp'), recovery: toThrottle(throttle, 'recovery') },
    account,
    accountVersion: version,
  };
  return isEmptyRecord(record) ? null : record;
}
