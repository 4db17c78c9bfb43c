/**
 * Factors: adding one without an enrollment (`importFactor`), renaming,
 * removing (the last one takes the recovery codes with it), re-sealing a
 * secret, and erasing a user.
 * @module
 */
import { describe } from '../../_assert.ts';
import type {
  ActiveFactor,
  AddFactorOptions,
  AddFactorResult,
  FactorRemoval,
  FactorRenameOutcome,
} from '../contract.ts';
import { encodeFactor } from '../_codec.ts';
import { toInteger } from '../_database.ts';
import { COLUMNS, COUNT, firstRow, toRecordOrNull } from './table.ts';
import type { PostgresQueryClient } from './table.ts';
import { toAddResult } from './enrollment.ts';

/** Adds factor `$2` (its id `$3`) in one statement, as `activateSQL` without a pending enrollment. */
function addFactorSQL(table: string): string {
  return `WITH current AS (
  SELECT factors FROM ${table} WHERE user_id = $1 FOR UPDATE
), decision AS (
  SELECT factors, CASE
      WHEN ${COUNT('factors')} + 1 > $4::integer THEN 'factor_limit'
      WHEN EXISTS (SELECT 1 FROM jsonb_each(factors) AS e
        WHERE e.value->>'nameKey' = $2::jsonb->>'nameKey') THEN 'name_taken'
      ELSE 'ok' END AS outcome,
    factors = '{}'::jsonb AS first
  FROM current
), updated AS (
  UPDATE ${table} AS stored SET factors = d.factors || jsonb_build_object($3::text, $2::jsonb),
    recovery_salt = CASE WHEN d.first THEN $5::text ELSE stored.recovery_salt END,
    recovery_hashes = CASE WHEN d.first THEN $6::text[] ELSE stored.recovery_hashes END
  FROM decision AS d WHERE stored.user_id = $1 AND d.outcome = 'ok'
  RETURNING 1
)
SELECT outcome, first FROM decision`;
}

/** The factors operations of a store on `table`, its statements built once. */
export function factorsOperations(client: PostgresQueryClient, table: string) {
  const addFactorStatement = addFactorSQL(table);
  return {
    async addFactor(
      userId: string,
      factor: ActiveFactor,
      options: AddFactorOptions,
    ): Promise<AddFactorResult> {
      await client.query(
        `INSERT INTO ${table} (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING`,
        [userId],
      );
      const codes = options.recoveryCodes;
      const row = firstRow(
        await client.query(addFactorStatement, [
          userId,
          JSON.stringify(encodeFactor(factor)),
          factor.id,
          options.maxFactors,
          codes?.salt ?? null,
          codes?.hashes ?? null,
        ]),
      );
      if (row === undefined) throw new Error('addFactor found no row for the user');
      return toAddResult(row);
    },

    async replaceSealedSecret(userId: string, id: string, sealedSecret: string): Promise<boolean> {
      const result = await client.query(
        `UPDATE ${table} SET
  factors = CASE WHEN factors ? $2 THEN jsonb_set(factors, ARRAY[$2::text],
    (factors->$2::text) || jsonb_build_object('sealedSecret', $3::text)) ELSE factors END,
  pending = CASE WHEN factors ? $2 THEN pending
    WHEN pending->>'id' = $2 THEN pending || jsonb_build_object('sealedSecret', $3::text)
    WHEN pending->'previous'->>'id' = $2
      THEN jsonb_set(pending, '{previous,sealedSecret}', to_jsonb($3::text))
    ELSE pending END
WHERE user_id = $1 AND (factors ? $2 OR pending->>'id' = $2 OR pending->'previous'->>'id' = $2)
RETURNING user_id`,
        [userId, id, sealedSecret],
      );
      return result.rows.length === 1;
    },

    async renameFactor(
      userId: string,
      factorId: string,
      name: string,
      nameKey: string,
    ): Promise<FactorRenameOutcome> {
      const row = firstRow(
        await client.query(
          `WITH current AS (
  SELECT factors FROM ${table} WHERE user_id = $1 FOR UPDATE
), decision AS (
  SELECT factors, CASE WHEN NOT factors ? $2 THEN 'not_found'
      WHEN EXISTS (SELECT 1 FROM jsonb_each(factors) AS e
        WHERE e.key <> $2 AND e.value->>'nameKey' = $4) THEN 'name_taken'
      ELSE 'renamed' END AS outcome
  FROM current
), updated AS (
  UPDATE ${table} AS stored SET factors = jsonb_set(d.factors, ARRAY[$2::text],
    (d.factors->$2::text) || jsonb_build_object('name', $3::text, 'nameKey', $4::text))
  FROM decision AS d WHERE stored.user_id = $1 AND d.outcome = 'renamed'
  RETURNING 1
)
SELECT outcome FROM decision`,
          [userId, factorId, name, nameKey],
        ),
      );
      const outcome = row?.outcome ?? 'not_found';
      if (outcome === 'renamed' || outcome === 'not_found' || outcome === 'name_taken') {
        return outcome;
      }
      throw new TypeError(`the store returned a bad outcome: ${describe(outcome)}`);
    },

    async removeFactor(userId: string, factorId: string): Promise<FactorRemoval> {
      const row = firstRow(
        await client.query(
          `WITH current AS (
  SELECT factors FROM ${table} WHERE user_id = $1 FOR UPDATE
), decision AS (
  SELECT factors ? $2 AS removed, factors - $2::text AS kept FROM current
), updated AS (
  UPDATE ${table} AS stored SET factors = d.kept,
    pending = CASE WHEN d.kept = '{}'::jsonb THEN NULL ELSE stored.pending END,
    pending_expires_at = CASE WHEN d.kept = '{}'::jsonb THEN NULL ELSE stored.pending_expires_at END,
    recovery_salt = CASE WHEN d.kept = '{}'::jsonb THEN NULL ELSE stored.recovery_salt END,
    recovery_hashes = CASE WHEN d.kept = '{}'::jsonb THEN NULL ELSE stored.recovery_hashes END
  FROM decision AS d WHERE stored.user_id = $1 AND d.removed
  RETURNING 1
)
SELECT removed, ${COUNT('kept')} AS remaining FROM decision`,
          [userId, factorId],
        ),
      );
      if (row === undefined) return { removed: false, remaining: 0 };
      return { removed: row.removed === true, remaining: toInteger(row.remaining, 'remaining') };
    },

    async deleteFactors(userId: string): Promise<boolean> {
      const result = await client.query(
        `UPDATE ${table} SET factors = '{}'::jsonb, pending = NULL, pending_expires_at = NULL,
  recovery_salt = NULL, recovery_hashes = NULL
WHERE user_id = $1
  AND (factors <> '{}'::jsonb OR pending IS NOT NULL OR recovery_salt IS NOT NULL)
RETURNING user_id`,
        [userId],
      );
      return result.rows.length === 1;
    },

    async deleteUser(userId: string): Promise<boolean> {
      const row = firstRow(
        await client.query(`DELETE FROM ${table} WHERE user_id = $1 RETURNING ${COLUMNS}`, [
          userId,
        ]),
      );
      return toRecordOrNull(row) !== null;
    },
  };
}

/** What {@link factorsOperations} returns. */
export type FactorsOperations = ReturnType<typeof factorsOperations>;
