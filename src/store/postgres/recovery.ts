/**
 * Recovery codes: replacing the set, and consuming one code (which resets
 * both throttle scopes), each one conditional `UPDATE`.
 * @module
 */
import { checkUserId } from '../../_assert.ts';
import type { RecoveryCodeSet } from '../contract.ts';
import { RESET_THROTTLE } from './table.ts';
import type { PostgresQueryClient } from './table.ts';

/** The recovery operations of a store on `table`. */
export function recoveryOperations(client: PostgresQueryClient, table: string) {
  return {
    async replaceRecoveryCodes(userId: string, codes: RecoveryCodeSet): Promise<boolean> {
      checkUserId(userId);
      const result = await client.query(
        `UPDATE ${table} SET recovery_salt = $2, recovery_hashes = $3::text[]
WHERE user_id = $1 AND factors <> '{}'::jsonb
RETURNING user_id`,
        [userId, codes.salt, codes.hashes],
      );
      return result.rows.length === 1;
    },

    async consumeRecoveryCode(userId: string, hash: string): Promise<boolean> {
      checkUserId(userId);
      // Removes exactly one occurrence: the slices around its first position.
      const result = await client.query(
        `UPDATE ${table} SET
  recovery_hashes = recovery_hashes[:array_position(recovery_hashes, $2::text) - 1]
    || recovery_hashes[array_position(recovery_hashes, $2::text) + 1:],
  ${RESET_THROTTLE}
WHERE user_id = $1 AND $2::text = ANY (recovery_hashes)
RETURNING user_id`,
        [userId, hash],
      );
      return result.rows.length === 1;
    },
  };
}

/** What {@link recoveryOperations} returns. */
export type RecoveryOperations = ReturnType<typeof recoveryOperations>;
