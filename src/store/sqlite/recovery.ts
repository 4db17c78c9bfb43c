/**
 * Recovery codes: replacing the set, and consuming one code (which resets
 * both throttle scopes), each one conditional `UPDATE`.
 * @module
 */
import type { RecoveryCodeSet } from '../contract.ts';
import { NO_FACTOR, RESET_THROTTLE, sql, type Table } from './table.ts';

/** The recovery operations of a store on `table`. */
export function recoveryOperations({ driver, name }: Table) {
  return {
    async replaceRecoveryCodes(userId: string, codes: RecoveryCodeSet): Promise<boolean> {
      const rows = await driver.run(sql`UPDATE ${name} SET recovery_salt = ${codes.salt},
  recovery_hashes = ${JSON.stringify(codes.hashes)}
WHERE user_id = ${userId} AND ${NO_FACTOR} = 0
RETURNING user_id`);
      return rows.length === 1;
    },

    async consumeRecoveryCode(userId: string, hash: string): Promise<boolean> {
      // Removes exactly one occurrence: the element at its first position.
      const rows = await driver.run(sql`UPDATE ${name} SET recovery_hashes = (
    SELECT json_group_array(value) FROM json_each(recovery_hashes)
    WHERE key <> (SELECT min(key) FROM json_each(recovery_hashes) WHERE value = ${hash})),
  ${RESET_THROTTLE}
WHERE user_id = ${userId}
  AND EXISTS (SELECT 1 FROM json_each(recovery_hashes) WHERE value = ${hash})
RETURNING user_id`);
      return rows.length === 1;
    },
  };
}

/** What {@link recoveryOperations} returns. */
export type RecoveryOperations = ReturnType<typeof recoveryOperations>;
