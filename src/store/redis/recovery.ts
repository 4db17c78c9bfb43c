/**
 * Recovery codes: replacing the set, and consuming one code (which resets
 * both throttle scopes), each one script.
 * @module
 */
import type { RecoveryCodeSet } from '../contract.ts';
import { toInteger } from '../_database.ts';
import { script } from './client.ts';
import type { Run } from './client.ts';
import { PRELUDE } from './record.ts';

/** ARGV salt, then the hashes. */
const REPLACE_RECOVERY_CODES = script(`${PRELUDE}
if redis.call('HLEN', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[4])
if #ARGV > 1 then redis.call('RPUSH', KEYS[4], unpack(ARGV, 2)) end
return 1`);

/** KEYS codes, throttle. ARGV hash. */
const CONSUME_RECOVERY_CODE = script(`
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
return 1`);

/** The recovery operations, run through `run` on the keys `keys` names for a user. */
export function recoveryOperations(run: Run, keys: (userId: string) => string[]) {
  return {
    async replaceRecoveryCodes(userId: string, codes: RecoveryCodeSet): Promise<boolean> {
      const args = [codes.salt, ...codes.hashes];
      return toInteger(await run(REPLACE_RECOVERY_CODES, keys(userId), args), 'reply') === 1;
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
