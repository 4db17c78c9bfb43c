/**
 * Factors: adding one without an enrollment (`importFactor`), renaming,
 * removing (the last one takes the enrollment and recovery codes with it),
 * re-sealing a secret, and erasing a user, each one script.
 * @module
 */
import { checkInteger, describe } from '../../_assert.ts';
import type {
  ActiveFactor,
  AddFactorOptions,
  AddFactorResult,
  DeleteFactorsOutcome,
  DeleteUserOptions,
  FactorChangeOptions,
  FactorRemoval,
  FactorRenameOutcome,
} from '../contract.ts';
import { encodeFactor } from '../_codec.ts';
import { toInteger, toText } from '../_database.ts';
import { script } from './client.ts';
import type { Run } from './client.ts';
import { PRELUDE, toArray } from './record.ts';
import { firstSetArguments, toAddResult } from './enrollment.ts';
import { SETTLE_THROTTLE } from './throttle.ts';
import { ACCOUNT_WRITE, accountArguments } from './account.ts';

/**
 * ARGV the account write, then the factor's JSON, maxFactors, then the first
 * set as in ACTIVATE_PENDING. Refuses under an erasure guard at its
 * activatedAt, then if the account version moved, then a duplicate secret,
 * then the limit and the name. A user with a factor keeps the throttle hash
 * and the document without expiry (PERSIST).
 */
const ADD_FACTOR = script(`${PRELUDE}${ACCOUNT_WRITE}
local f = cjson.decode(ARGV[1])
if erased(f.activatedAt) then return 'erased' end
if not current() then return 'conflict' end
local count = redis.call('HLEN', KEYS[1])
local twin, taken = conflicts(f.nameKey, digestOf(f.secretDigest), nil)
if twin then return 'duplicate_secret:' .. twin end
if count + 1 > tonumber(ARGV[2]) then return 'factor_limit' end
if taken then return 'name_taken' end
redis.call('HSET', KEYS[1], f.id, ARGV[1])
redis.call('PERSIST', KEYS[5])
firstSet(count == 0, ARGV, 3)
writeAccount()
return 'ok:' .. (count == 0 and '1' or '0') .. ':0'`);

/** ARGV id (a factor's, the enrollment's or its previous's), sealedSecret. */
const REPLACE_SEALED_SECRET = script(`${PRELUDE}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw then
  local f = cjson.decode(raw)
  f.sealedSecret = ARGV[2]
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(f))
  return 1
end
raw = redis.call('GET', KEYS[2])
if not raw then return 0 end
local p = cjson.decode(raw)
if p.id == ARGV[1] then
  p.sealedSecret = ARGV[2]
elseif type(p.previous) == 'table' and p.previous.id == ARGV[1] then
  p.previous.sealedSecret = ARGV[2]
else
  return 0
end
redis.call('SET', KEYS[2], cjson.encode(p), 'KEEPTTL')
return 1`);

/** ARGV factorId, name, nameKey. */
const RENAME_FACTOR = script(`${PRELUDE}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 'not_found' end
local _, taken = conflicts(ARGV[3], nil, ARGV[1])
if taken then return 'name_taken' end
local f = cjson.decode(raw)
f.name = ARGV[2]
f.nameKey = ARGV[3]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(f))
return 'renamed'`);

/**
 * ARGV the account write, then factorId, throttleRetentionMs. Replies
 * 'conflict' if the account version moved, else { removed (0/1), remaining }.
 * Removing the last factor starts the throttle hash's expiry. The account
 * write is made only if the factor was removed.
 */
const REMOVE_FACTOR = script(`${PRELUDE}${SETTLE_THROTTLE}${ACCOUNT_WRITE}
if not current() then return 'conflict' end
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return {0, redis.call('HLEN', KEYS[1])} end
local left = redis.call('HLEN', KEYS[1])
if left == 0 then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
  settle(ARGV[2])
end
writeAccount()
return {1, left}`);

/**
 * ARGV the account write, then throttleRetentionMs: the throttle hash, kept,
 * starts to expire (also when there was nothing to delete: a hash left
 * without a TTL by a version before 0.2 gets one). Replies 'conflict' if the
 * account version moved, else 'deleted' (the account write made) or
 * 'nothing' (no account write).
 */
const DELETE_FACTORS = script(`${PRELUDE}${SETTLE_THROTTLE}${ACCOUNT_WRITE}
if not current() then return 'conflict' end
local deleted = redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
settle(ARGV[1])
if deleted == 0 then return 'nothing' end
writeAccount()
return 'deleted'`);

/**
 * ARGV until (now + guardMs), guardMs. Deletes the user's keys (the account
 * document too) and sets the
 * erasure guard: its value is `until`, which the scripts compare with the
 * service's times, and it expires `guardMs` after now by the Redis server's
 * clock (a relative TTL, so that a difference between the service's clock
 * and the server's does not shorten it). Replies whether anything but zero
 * failures was held.
 */
const DELETE_USER = script(`${PRELUDE}
local t = hash(KEYS[5])
local held = redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3], KEYS[7]) > 0
  or tonumber(t['otp:failures'] or '0') > 0 or tonumber(t['recovery:failures'] or '0') > 0
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
if tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[6], ARGV[1], 'PX', ARGV[2]) end
if held then return 1 end
return 0`);

/**
 * The factors operations, run through `run` on the keys `keys` names for a
 * user; `retentionMs` is the store's `throttleRetentionMs` as a decimal string.
 */
export function factorsOperations(
  run: Run,
  keys: (userId: string) => string[],
  retentionMs: string,
) {
  return {
    async addFactor(
      userId: string,
      factor: ActiveFactor,
      options: AddFactorOptions,
    ): Promise<AddFactorResult> {
      const userKeys = keys(userId);
      const reply = await run(ADD_FACTOR, userKeys, [
        ...accountArguments(options.account, factor.activatedAt),
        JSON.stringify(encodeFactor(factor)),
        String(options.maxFactors),
        ...firstSetArguments(options.recoveryCodes),
      ]);
      return toAddResult(reply);
    },

    async replaceSealedSecret(userId: string, id: string, sealedSecret: string): Promise<boolean> {
      const reply = await run(REPLACE_SEALED_SECRET, keys(userId), [id, sealedSecret]);
      return toInteger(reply, 'reply') === 1;
    },

    async renameFactor(
      userId: string,
      factorId: string,
      name: string,
      nameKey: string,
    ): Promise<FactorRenameOutcome> {
      const reply = toText(
        await run(RENAME_FACTOR, keys(userId), [factorId, name, nameKey]),
        'outcome',
      );
      if (reply === 'renamed' || reply === 'not_found' || reply === 'name_taken') return reply;
      throw new TypeError(`the store returned a bad outcome: ${describe(reply)}`);
    },

    async removeFactor(
      userId: string,
      factorId: string,
      options: FactorChangeOptions,
    ): Promise<FactorRemoval | 'conflict'> {
      const userKeys = keys(userId);
      const args = [...accountArguments(options?.account, null), factorId, retentionMs];
      const value = await run(REMOVE_FACTOR, userKeys, args);
      if (value === 'conflict') return value;
      const reply = toArray(value, 'removeFactor');
      return {
        removed: toInteger(reply[0], 'removed') === 1,
        remaining: toInteger(reply[1], 'remaining'),
      };
    },

    async deleteFactors(
      userId: string,
      options: FactorChangeOptions,
    ): Promise<DeleteFactorsOutcome> {
      const userKeys = keys(userId);
      const args = [...accountArguments(options?.account, null), retentionMs];
      const reply = toText(await run(DELETE_FACTORS, userKeys, args), 'outcome');
      if (reply === 'deleted' || reply === 'nothing' || reply === 'conflict') return reply;
      throw new TypeError(`the store returned a bad outcome: ${describe(reply)}`);
    },

    async deleteUser(userId: string, { now, guardMs }: DeleteUserOptions): Promise<boolean> {
      checkInteger(now, 'now', 0, Number.MAX_SAFE_INTEGER);
      checkInteger(guardMs, 'guardMs', 0, Number.MAX_SAFE_INTEGER - now);
      const args = [String(now + guardMs), String(guardMs)];
      return toInteger(await run(DELETE_USER, keys(userId), args), 'reply') === 1;
    },
  };
}

/** What {@link factorsOperations} returns. */
export type FactorsOperations = ReturnType<typeof factorsOperations>;
