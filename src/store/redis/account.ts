/**
 * The account document (0.3): the `account` hash in the user's slot, with
 * `v` (its version, a decimal string) and `doc` (the document as JSON text,
 * written and returned exactly as the service serialised it), the
 * compare-and-set that every factor change carrying an account write makes
 * in its own script, and the two scripts that only write the document:
 * `updateAccount` and `resetUser`.
 *
 * Retention: the document of a user with an active factor has no TTL; a
 * factorless user's document expires a minute after its `keepUntil` (none
 * while that is `null`), counted from the operation's time by the Redis
 * server's clock, as the enrollment's key is (a service clock a little off
 * the server's never cuts it short). The three factor changes that carry no
 * time (`removeFactor`, `deleteFactors`, `replaceRecoveryCodes`) set it at
 * `keepUntil` plus the minute by the server's clock instead (`PEXPIREAT`);
 * they move the generation, so the service passes `keepUntil: null` there.
 * The throttle hash has its own TTL and never takes the document with it.
 * @module
 */
import { checkInteger, checkOptions, describe } from '../../_assert.ts';
import type {
  AccountUpdateOutcome,
  AccountWrite,
  AccountWriteOptions,
  ResetUserOutcome,
} from '../contract.ts';
import { toText } from '../_database.ts';
import { script, type Run } from './client.ts';
import { PRELUDE } from './record.ts';

/** How long a document outlives its `keepUntil`: the margin the enrollment key has too. */
const ACCOUNT_TTL_MARGIN_MS = 60_000;

/**
 * Lua, after the prelude (and `SETTLE_THROTTLE` where used): the first five
 * ARGV are the account write (see {@link accountArguments}); the script's own
 * arguments follow, as a local `ARGV` from 1. `current()`: whether the write
 * may be made (none given, or the version still the one read);
 * `writeAccount()`: makes it, with the document's TTL. Call `current()` right
 * after the erasure check, and `writeAccount()` only when the change is made.
 */
export const ACCOUNT_WRITE = `
local account = {ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]}
local ARGV = {unpack(ARGV, 6)}
local function current()
  if account[1] == '' then return true end
  return tonumber(redis.call('HGET', KEYS[7], 'v') or '0') == tonumber(account[1])
end
local function writeAccount()
  if account[1] == '' then return end
  redis.call('HSET', KEYS[7], 'v', account[2], 'doc', account[3])
  if account[4] == '' or redis.call('HLEN', KEYS[1]) > 0 then
    redis.call('PERSIST', KEYS[7])
  elseif account[4] == 'px' then
    redis.call('PEXPIRE', KEYS[7], account[5])
  else
    redis.call('PEXPIREAT', KEYS[7], account[5])
  end
end
`;

/** The five ARGV of {@link ACCOUNT_WRITE} when an operation writes no document. */
export const NO_ACCOUNT_WRITE = ['', '', '', '', ''];

/**
 * Checks an account write and encodes it as the five ARGV of
 * {@link ACCOUNT_WRITE}: the version read, the next one, the JSON text, and
 * the TTL: `''` (none: `keepUntil` is `null`), `'px'` and the ms from `now`
 * (the operation's time), or `'at'` and a Unix ms (an operation without a
 * time).
 *
 * @throws TypeError if `write` or its `account` is not an object, or
 *   `keepUntil` is neither `null` nor a number
 * @throws RangeError if `version` or `keepUntil` is not a safe integer ≥ 0
 */
export function accountArguments(
  write: AccountWrite | undefined,
  now: number | null,
  field = 'options.account',
): string[] {
  if (write === undefined) return NO_ACCOUNT_WRITE;
  checkOptions(write, field);
  const version = checkInteger(write.version, `${field}.version`, 0, Number.MAX_SAFE_INTEGER - 1);
  const account = checkOptions(write.account, `${field}.account`);
  const keepUntil: unknown = account.keepUntil;
  if (keepUntil !== null && typeof keepUntil !== 'number') {
    throw new TypeError(
      `"${field}.account.keepUntil" must be null or a number, got ${describe(keepUntil)}`,
    );
  }
  const doc = JSON.stringify(account);
  const next = String(version + 1);
  if (keepUntil === null) return [String(version), next, doc, '', ''];
  checkInteger(keepUntil, `${field}.account.keepUntil`, 0, Number.MAX_SAFE_INTEGER);
  if (now === null) {
    return [String(version), next, doc, 'at', String(keepUntil + ACCOUNT_TTL_MARGIN_MS)];
  }
  // ≤ 0: Redis deletes the document at once (it may go from keepUntil on).
  return [String(version), next, doc, 'px', String(keepUntil - now + ACCOUNT_TTL_MARGIN_MS)];
}

/** KEYS the user's keys; ARGV the account write, then now. */
const UPDATE_ACCOUNT = script(`${PRELUDE}${ACCOUNT_WRITE}
if erased(ARGV[1]) then return 'erased' end
if not current() then return 'conflict' end
writeAccount()
return 'updated'`);

/**
 * KEYS the user's keys; ARGV the account write, then now. Removes the
 * factors, the pending enrollment (its `previous` is inside it), the
 * recovery codes and the throttle hash (both scopes at zero), and writes the
 * document.
 */
const RESET_USER = script(`${PRELUDE}${ACCOUNT_WRITE}
if erased(ARGV[1]) then return 'erased' end
if not current() then return 'conflict' end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
writeAccount()
return 'reset'`);

/** The options of `updateAccount` and `resetUser`, as ARGV. */
function writeArguments(options: AccountWriteOptions): string[] {
  checkOptions(options, 'options');
  const now = checkInteger(options.now, 'options.now', 0, Number.MAX_SAFE_INTEGER);
  const write = { version: options.version, account: options.account };
  return [...accountArguments(write, now, 'options'), String(now)];
}

/** The account operations, run through `run` on the keys `keys` names for a user. */
export function accountOperations(run: Run, keys: (userId: string) => string[]) {
  return {
    async updateAccount(
      userId: string,
      options: AccountWriteOptions,
    ): Promise<AccountUpdateOutcome> {
      const userKeys = keys(userId);
      const reply = toText(await run(UPDATE_ACCOUNT, userKeys, writeArguments(options)), 'outcome');
      if (reply === 'updated' || reply === 'conflict' || reply === 'erased') return reply;
      throw new TypeError(`the store returned a bad outcome: ${describe(reply)}`);
    },

    async resetUser(userId: string, options: AccountWriteOptions): Promise<ResetUserOutcome> {
      const userKeys = keys(userId);
      const reply = toText(await run(RESET_USER, userKeys, writeArguments(options)), 'outcome');
      if (reply === 'reset' || reply === 'conflict' || reply === 'erased') return reply;
      throw new TypeError(`the store returned a bad outcome: ${describe(reply)}`);
    },
  };
}

/** What {@link accountOperations} returns. */
export type AccountOperations = ReturnType<typeof accountOperations>;
