/**
 * Recovery codes: replacing the set (with its account write, compare-and-set
 * on `account_version`), and consuming one code (which resets both throttle
 * scopes), each one statement.
 * @module
 */
import { checkUserId, describe } from '../../_assert.ts';
import type {
  FactorChangeOptions,
  RecoveryCodeSet,
  ReplaceRecoveryCodesOutcome,
} from '../contract.ts';
import { accountValues, WRITE_ACCOUNT } from './account.ts';
import { runWrite } from './statement.ts';
import { firstRow, RESET_THROTTLE } from './table.ts';
import type { PostgresQueryClient } from './table.ts';

/** The recovery operations of a store on `table`. */
export function recoveryOperations(client: PostgresQueryClient, table: string) {
  return {
    async replaceRecoveryCodes(
      userId: string,
      codes: RecoveryCodeSet,
      options: FactorChangeOptions,
    ): Promise<ReplaceRecoveryCodesOutcome> {
      checkUserId(userId);
      const [version, doc] = accountValues(options?.account, 'options.account');
      // The contract's order: the account version, then the active factor.
      const row = firstRow(
        await runWrite(
          client,
          'replaceRecoveryCodes',
          `WITH current AS (
  SELECT factors, account_version FROM ${table} WHERE user_id = $1 FOR UPDATE
), decision AS (
  SELECT CASE WHEN account_version <> $5::bigint THEN 'conflict'
      WHEN factors = '{}'::jsonb THEN 'no_factor' ELSE 'replaced' END AS outcome
  FROM current
), updated AS (
  UPDATE ${table} AS stored SET recovery_salt = $2, recovery_hashes = $3::text[],
    ${WRITE_ACCOUNT('$4', '$5')}
  FROM decision AS d WHERE stored.user_id = $1 AND d.outcome = 'replaced'
  RETURNING 1
)
SELECT outcome FROM decision`,
          [userId, codes.salt, codes.hashes, doc, version],
        ),
      );
      // No row: no factor, and version 0.
      const outcome = row?.outcome ?? (version === 0 ? 'no_factor' : 'conflict');
      if (outcome === 'replaced' || outcome === 'no_factor' || outcome === 'conflict') {
        return outcome;
      }
      throw new TypeError(`the store returned a bad outcome: ${describe(outcome)}`);
    },

    async consumeRecoveryCode(userId: string, hash: string): Promise<boolean> {
      checkUserId(userId);
      // Removes exactly one occurrence: the slices around its first position.
      const result = await runWrite(
        client,
        'consumeRecoveryCode',
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
