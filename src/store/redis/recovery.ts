/**
 * Recovery codes: replacing the set, and consuming one code (which resets
 * both throttle scopes), each one script.
 * @module
 */
import { describe } from '../../_assert.ts';
import type {
  FactorChangeOptions,
  RecoveryCodeSet,
  ReplaceRecoveryCodesOutcome,
} from '../contract.ts';
import { toInteger, toText } from '../_database.ts';
import { script } from './client.ts';
import type { Run } from './client.ts';
import { PRELUDE } from './record.ts';
import { ACCOUNT_WRITE, accountArguments } from './account.ts';

/**
 * ARGV the account write, then salt, then the hashes. Refuses, writing
 * nothing, if the account version moved ('conflict'), then if the user has
 * no active factor ('no_factor').
 */
const REPLACE_RECOVERY_CODES = script(`${PRELUDE}${ACCOUNT_WRITE}
if not current() then return 'conflict' end
if redis.call('HLEN', KEYS[1]) == 0 then return 'no_factor' end
redis.call('SET', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[4])
if #ARGV > 1 then redis.call('RPUSH', KEYS[4], unpack(ARGV, 2)) end
writeAccount()
return 'replaced'`);

/** KEYS codes, throttle. ARGV hash. */
const CONSUME_RECOVERY_CODE = script(`
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
return 1`);

/** The recovery operations, run through `run` on the keys `keys` names for a user. */
export function recoveryOperations(run: Run, keys: (userId: string) => string[]) {
  return {
    async replaceRecoveryCodes(
      userId: string,
      codes: RecoveryCodeSet,
      options: FactorChangeOptions,
    ): Promise<ReplaceRecoveryCodesOutcome> {
      const userKeys = keys(userId);
      const args = [...accountArguments(options?.account, null), codes.salt, ...codes.hashes];
      const reply = toText(await run(REPLACE_RECOVERY_CODES, userKeys, args), 'outcome');
      if (reply === 'replaced' || reply === 'no_factor' || reply === 'conflict') return reply;
      throw new TypeError(`the store returned a bad outcome: ${describe(reply)}`);
    },

    async consumeRecoveryCode(userId: string, hash: string): Promise<boolean> {
      const userKeys = keys(userId);
      const reply = await run(CONSUME_RECOVERY_CODE, [userKeys[3]!, userKeys[4]!], [hash]);
      return toInteger(reply, 'reply') === 1;
    },
  };
}

/** What {@link recoveryOperations} returns. */
export type RecoveryOperations = ReturnType<typeof recoveryOperations>;
