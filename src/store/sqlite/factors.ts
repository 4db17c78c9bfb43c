/**
 * Factors: adding one without an enrollment (`importFactor`), renaming,
 * removing (the last one takes the recovery codes with it), disabling,
 * re-sealing a secret, and erasing a user. A write whose outcome has several
 * refusals is a transaction of two statements: the decision, read under the
 * write lock, and the `UPDATE` that writes only if the same decision is
 * `'ok'`. The changes that move the security generation carry an account
 * write: the decision checks its version first (`'conflict'`), and the
 * `UPDATE` writes the document with the change.
 * @module
 */
import { describe } from '../../_assert.ts';
import { encodeFactor } from '../_codec.ts';
import { toInteger } from '../_database.ts';
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
import { addDecision, duplicateOf, notGuarded, toAddResult } from './enrollment.ts';
import {
  checkAccountWrite,
  hasFactor,
  missingRowConflict,
  NO_FACTOR,
  RESET_THROTTLE,
  setAccount,
  sql,
  versionIs,
  withFactor,
  withoutFactor,
  type Table,
} from './table.ts';

/** Whether the row holds anything `getUser` would return (see `isEmptyRecord`). */
const HOLDS_ANYTHING = sql`(${NO_FACTOR} = 0 OR pending IS NOT NULL OR recovery_salt IS NOT NULL
  OR otp_failures > 0 OR recovery_failures > 0 OR otp_guesses > 0 OR recovery_guesses > 0
  OR account IS NOT NULL)`;

/** Whether the row holds something `deleteFactors` removes. */
const HOLDS_FACTORS = sql`(${NO_FACTOR} = 0 OR pending IS NOT NULL OR recovery_salt IS NOT NULL)`;

/** The factors operations of a store on `table`. */
export function factorsOperations({ driver, name }: Table) {
  return {
    async addFactor(
      userId: string,
      factor: ActiveFactor,
      options: AddFactorOptions,
    ): Promise<AddFactorResult> {
      const { recoveryCodes: codes, account: write } = options;
      const text = checkAccountWrite(write, 'options.account');
      const added = sql`json(${JSON.stringify(encodeFactor(factor))})`;
      const none = sql`NULL`;
      const decision = sql`CASE WHEN NOT ${notGuarded(factor.activatedAt)} THEN 'erased'
    WHEN NOT ${versionIs(write)} THEN 'conflict'
    ELSE ${addDecision(added, none, options.maxFactors)} END`;
      const [, decided] = await driver.transaction([
        // A user seen for the first time gets a row if the service read version
        // 0 (only a success can follow); otherwise that is a conflict, and no row.
        sql`INSERT INTO ${name} (user_id) SELECT ${userId} WHERE ${write.version} = 0
ON CONFLICT (user_id) DO NOTHING`,
        sql`SELECT ${decision} AS outcome, ${NO_FACTOR} AS first, 0 AS replaced,
  ${duplicateOf(added, none)} AS duplicate
FROM ${name} WHERE user_id = ${userId}`,
        sql`UPDATE ${name} SET factors = json_insert(factors, '$[#]', ${added}),
  recovery_salt = CASE WHEN ${NO_FACTOR} THEN ${codes?.salt ?? null} ELSE recovery_salt END,
  recovery_hashes = CASE WHEN ${NO_FACTOR} THEN ${codes === null ? null : JSON.stringify(codes.hashes)}
    ELSE recovery_hashes END,
  erased_until = NULL, ${setAccount(write, text)}
WHERE user_id = ${userId} AND ${decision} = 'ok'`,
      ]);
      return toAddResult(decided?.[0], missingRowConflict(write));
    },

    async deleteUser(userId: string, { now, guardMs }: DeleteUserOptions): Promise<boolean> {
      // Everything goes, and the row stays as the erasure guard: it holds only
      // the user id and until when no operation may create state for the user.
      const [had] = await driver.transaction([
        sql`SELECT ${HOLDS_ANYTHING} AS held FROM ${name} WHERE user_id = ${userId}`,
        sql`INSERT INTO ${name} (user_id, erased_until) VALUES (${userId}, ${now + guardMs})
ON CONFLICT (user_id) DO UPDATE SET factors = '[]', pending = NULL, pending_expires_at = NULL,
  recovery_salt = NULL, recovery_hashes = NULL, ${RESET_THROTTLE},
  account = NULL, account_version = 0, erased_until = excluded.erased_until`,
      ]);
      const row = had?.[0];
      return row !== undefined && toInteger(row.held, 'held') === 1;
    },

    async replaceSealedSecret(userId: string, id: string, sealedSecret: string): Promise<boolean> {
      const isFactor = hasFactor(id);
      const rows = await driver.run(sql`UPDATE ${name} SET
  factors = CASE WHEN ${isFactor}
    THEN ${withFactor(id, sql`json_set(value, '$.sealedSecret', ${sealedSecret})`)}
    ELSE factors END,
  pending = CASE WHEN ${isFactor} THEN pending
    WHEN json_extract(pending, '$.id') = ${id} THEN json_set(pending, '$.sealedSecret', ${sealedSecret})
    WHEN json_extract(pending, '$.previous.id') = ${id}
      THEN json_set(pending, '$.previous.sealedSecret', ${sealedSecret})
    ELSE pending END
WHERE user_id = ${userId} AND (${isFactor} OR json_extract(pending, '$.id') = ${id}
  OR json_extract(pending, '$.previous.id') = ${id})
RETURNING user_id`);
      return rows.length === 1;
    },

    async renameFactor(
      userId: string,
      factorId: string,
      newName: string,
      nameKey: string,
    ): Promise<FactorRenameOutcome> {
      const decision = sql`CASE WHEN NOT ${hasFactor(factorId)} THEN 'not_found'
  WHEN EXISTS (SELECT 1 FROM json_each(factors) WHERE json_extract(value, '$.id') <> ${factorId}
    AND json_extract(value, '$.nameKey') = ${nameKey}) THEN 'name_taken'
  ELSE 'renamed' END`;
      const [decided] = await driver.transaction([
        sql`SELECT ${decision} AS outcome FROM ${name} WHERE user_id = ${userId}`,
        sql`UPDATE ${name} SET factors = ${withFactor(
          factorId,
          sql`json_set(value, '$.name', ${newName}, '$.nameKey', ${nameKey})`,
        )}
WHERE user_id = ${userId} AND ${decision} = 'renamed'`,
      ]);
      const outcome = decided?.[0]?.outcome ?? 'not_found';
      if (outcome === 'renamed' || outcome === 'not_found' || outcome === 'name_taken') {
        return outcome;
      }
      throw new TypeError(`the store returned a bad outcome: ${describe(outcome)}`);
    },

    async removeFactor(
      userId: string,
      factorId: string,
      { account: write }: FactorChangeOptions,
    ): Promise<FactorRemoval | 'conflict'> {
      const text = checkAccountWrite(write, 'options.account');
      // json_group_array of no rows is exactly '[]'.
      const kept = withoutFactor(factorId);
      const [decided] = await driver.transaction([
        sql`SELECT NOT ${versionIs(write)} AS conflict, ${hasFactor(factorId)} AS removed,
  (SELECT count(*) FROM json_each(factors)
    WHERE json_extract(value, '$.id') IS NOT ${factorId}) AS remaining
FROM ${name} WHERE user_id = ${userId}`,
        // Every expression reads the row as it was: the last factor takes the
        // pending enrollment and the recovery codes with it.
        sql`UPDATE ${name} SET factors = ${kept},
  pending = CASE WHEN ${kept} = '[]' THEN NULL ELSE pending END,
  pending_expires_at = CASE WHEN ${kept} = '[]' THEN NULL ELSE pending_expires_at END,
  recovery_salt = CASE WHEN ${kept} = '[]' THEN NULL ELSE recovery_salt END,
  recovery_hashes = CASE WHEN ${kept} = '[]' THEN NULL ELSE recovery_hashes END,
  ${setAccount(write, text)}
WHERE user_id = ${userId} AND ${versionIs(write)} AND ${hasFactor(factorId)}`,
      ]);
      const row = decided?.[0];
      if (row === undefined) {
        return missingRowConflict(write) ? 'conflict' : { removed: false, remaining: 0 };
      }
      if (toInteger(row.conflict, 'conflict') === 1) return 'conflict';
      return {
        removed: toInteger(row.removed, 'removed') === 1,
        remaining: toInteger(row.remaining, 'remaining'),
      };
    },

    async deleteFactors(
      userId: string,
      { account: write }: FactorChangeOptions,
    ): Promise<DeleteFactorsOutcome> {
      const text = checkAccountWrite(write, 'options.account');
      const decision = sql`CASE WHEN NOT ${versionIs(write)} THEN 'conflict'
  WHEN ${HOLDS_FACTORS} THEN 'deleted' ELSE 'nothing' END`;
      const [decided] = await driver.transaction([
        sql`SELECT ${decision} AS outcome FROM ${name} WHERE user_id = ${userId}`,
        sql`UPDATE ${name} SET factors = '[]', pending = NULL, pending_expires_at = NULL,
  recovery_salt = NULL, recovery_hashes = NULL, ${setAccount(write, text)}
WHERE user_id = ${userId} AND ${decision} = 'deleted'`,
      ]);
      const outcome = decided?.[0]?.outcome ?? (missingRowConflict(write) ? 'conflict' : 'nothing');
      if (outcome === 'deleted' || outcome === 'nothing' || outcome === 'conflict') return outcome;
      throw new TypeError(`the store returned a bad outcome: ${describe(outcome)}`);
    },
  };
}

/** What {@link factorsOperations} returns. */
export type FactorsOperations = ReturnType<typeof factorsOperations>;
