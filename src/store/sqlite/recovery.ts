/**
 * Recovery codes: replacing the set (with its account write, a
 * compare-and-set, in one transaction: the decision, then the `UPDATE` that
 * writes only if it is `'replaced'`), and consuming one code (which resets
 * both throttle scopes) in one conditional `UPDATE`.
 * @module
 */
import { describe } from '../../_assert.ts';
import type {
  FactorChangeOptions,
  RecoveryCodeSet,
  ReplaceRecoveryCodesOutcome,
} from '../contract.ts';
import {
  checkAccountWrite,
  missingRowConflict,
  NO_FACTOR,
  RESET_THROTTLE,
  setAccount,
  sql,
  versionIs,
  type Table,
} from './table.ts';

/** The recovery operations of a store on `table`. */
export function recoveryOperations({ driver, name }: Table) {
  return {
    async replaceRecoveryCodes(
      userId: string,
      codes: RecoveryCodeSet,
      { account: write }: FactorChangeOptions,
    ): Promise<ReplaceRecoveryCodesOutcome> {
      const text = checkAccountWrite(write, 'options.account');
      const decision = sql`CASE WHEN NOT ${versionIs(write)} THEN 'conflict'
  WHEN ${NO_FACTOR} THEN 'no_factor' ELSE 'replaced' END`;
      const [decided] = await driver.transaction([
        sql`SELECT ${decision} AS outcome FROM ${name} WHERE user_id = ${userId}`,
        sql`UPDATE ${name} SET recovery_salt = ${codes.salt},
  recovery_hashes = ${JSON.stringify(codes.hashes)}, ${setAccount(write, text)}
WHERE user_id = ${userId} AND ${decision} = 'replaced'`,
      ]);
      const outcome =
        decided?.[0]?.outcome ?? (missingRowConflict(write) ? 'conflict' : 'no_factor');
      if (outcome === 'replaced' || outcome === 'no_factor' || outcome === 'conflict') {
        return outcome;
      }
      throw new TypeError(`the store returned a bad outcome: ${describe(outcome)}`);
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
