/**
 * Factors: adding one without an enrollment (`importFactor`), renaming,
 * removing (the last one takes the recovery codes with it), disabling, each
 * change with its account write (compare-and-set on `account_version`),
 * re-sealing a secret, and erasing a user, which leaves an erasure guard in
 * the row (the account document goes too).
 * @module
 */
import { checkInteger, checkNow, checkUserId, describe } from '../../_assert.ts';
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
import { toInteger } from '../_database.ts';
import { accountValues, WRITE_ACCOUNT } from './account.ts';
import { runWrite } from './statement.ts';
import { COUNT, DUPLICATE, firstRow, GUARDED } from './table.ts';
import type { PostgresQueryClient } from './table.ts';
import { toAddResult } from './enrollment.ts';

/**
 * Adds factor `$2` (its id `$3`) in one statement. `inserted` creates the row
 * of a user without one, with the factor, the recovery codes `$5`/`$6` and
 * the account document `$8`, only if the version read `$9` is 0 (the version
 * of no row); otherwise `current` locks the row and `decision` works out the
 * outcome as `activateSQL` does without a pending enrollment (erasure guard
 * at `$7`, the factor's `activatedAt`; account version; duplicate secret;
 * limit `$4`; name), and `updated` writes only for `'ok'`, with the document,
 * dropping a guard that ended. Neither: the row was created after this
 * statement's snapshot (the caller runs it again), or there is none and the
 * version read was not 0 (a conflict).
 */
function addFactorSQL(table: string): string {
  return `WITH inserted AS (
  INSERT INTO ${table} (user_id, factors, recovery_salt, recovery_hashes, account, account_version)
  SELECT $1, jsonb_build_object($3::text, $2::jsonb), $5::text, $6::text[], $8::jsonb, 1
  WHERE $9::bigint = 0
  ON CONFLICT (user_id) DO NOTHING
  RETURNING 1
), current AS (
  SELECT factors, erased_until, account_version FROM ${table} WHERE user_id = $1 FOR UPDATE
), decision AS (
  SELECT factors, CASE
      WHEN ${GUARDED('erased_until', '$7::bigint')} THEN 'erased'
      WHEN account_version <> $9::bigint THEN 'conflict'
      WHEN ${DUPLICATE('factors', "$2::jsonb->>'secretDigest'")} IS NOT NULL
        THEN 'duplicate_secret'
      WHEN ${COUNT('factors')} + 1 > $4::integer THEN 'factor_limit'
      WHEN EXISTS (SELECT 1 FROM jsonb_each(factors) AS e
        WHERE e.value->>'nameKey' = $2::jsonb->>'nameKey') THEN 'name_taken'
      ELSE 'ok' END AS outcome,
    ${DUPLICATE('factors', "$2::jsonb->>'secretDigest'")} AS duplicate,
    factors = '{}'::jsonb AS first
  FROM current
), updated AS (
  UPDATE ${table} AS stored SET factors = d.factors || jsonb_build_object($3::text, $2::jsonb),
    recovery_salt = CASE WHEN d.first THEN $5::text ELSE stored.recovery_salt END,
    recovery_hashes = CASE WHEN d.first THEN $6::text[] ELSE stored.recovery_hashes END,
    erased_until = NULL, ${WRITE_ACCOUNT('$8', '$9')}
  FROM decision AS d WHERE stored.user_id = $1 AND d.outcome = 'ok'
  RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM inserted) AS inserted, decision.outcome, decision.duplicate,
  decision.first
FROM (VALUES (1)) AS one LEFT JOIN decision ON true`;
}

/** How often `addFactor` runs again when another statement created the row meanwhile. */
const ADD_ATTEMPTS = 3;

/** Everything `deleteUser` clears: the row keeps only the user id and the guard. */
const ERASE = `factors = '{}'::jsonb, pending = NULL, pending_expires_at = NULL,
  recovery_salt = NULL, recovery_hashes = NULL,
  otp_failures = 0, otp_guesses = 0, otp_blocked_until = 0,
  recovery_failures = 0, recovery_guesses = 0, recovery_blocked_until = 0,
  account = NULL, account_version = 0`;

/** The factors operations of a store on `table`, its statements built once. */
export function factorsOperations(client: PostgresQueryClient, table: string) {
  const addFactorStatement = addFactorSQL(table);
  return {
    async addFactor(
      userId: string,
      factor: ActiveFactor,
      options: AddFactorOptions,
    ): Promise<AddFactorResult> {
      checkUserId(userId);
      const codes = options.recoveryCodes;
      const [version, doc] = accountValues(options.account, 'options.account');
      const values = [
        userId,
        JSON.stringify(encodeFactor(factor)),
        factor.id,
        options.maxFactors,
        codes?.salt ?? null,
        codes?.hashes ?? null,
        factor.activatedAt,
        doc,
        version,
      ];
      for (let attempt = 0; attempt < ADD_ATTEMPTS; attempt++) {
        const row = firstRow(await runWrite(client, 'addFactor', addFactorStatement, values));
        if (row?.inserted === true) return { ok: true, firstFactor: true, replaced: false };
        if (row?.outcome != null) return toAddResult(row);
        if (version !== 0) return { ok: false, reason: 'conflict' };
      }
      throw new Error('addFactor could not lock the row of the user');
    },

    async replaceSealedSecret(userId: string, id: string, sealedSecret: string): Promise<boolean> {
      checkUserId(userId);
      const result = await runWrite(
        client,
        'replaceSealedSecret',
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
      checkUserId(userId);
      const row = firstRow(
        await runWrite(
          client,
          'renameFactor',
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

    async removeFactor(
      userId: string,
      factorId: string,
      options: FactorChangeOptions,
    ): Promise<FactorRemoval | 'conflict'> {
      checkUserId(userId);
      const [version, doc] = accountValues(options?.account, 'options.account');
      const row = firstRow(
        await runWrite(
          client,
          'removeFactor',
          `WITH current AS (
  SELECT factors, account_version FROM ${table} WHERE user_id = $1 FOR UPDATE
), decision AS (
  SELECT account_version <> $4::bigint AS conflict, factors ? $2 AS removed,
    factors - $2::text AS kept
  FROM current
), updated AS (
  UPDATE ${table} AS stored SET factors = d.kept,
    pending = CASE WHEN d.kept = '{}'::jsonb THEN NULL ELSE stored.pending END,
    pending_expires_at = CASE WHEN d.kept = '{}'::jsonb THEN NULL ELSE stored.pending_expires_at END,
    recovery_salt = CASE WHEN d.kept = '{}'::jsonb THEN NULL ELSE stored.recovery_salt END,
    recovery_hashes = CASE WHEN d.kept = '{}'::jsonb THEN NULL ELSE stored.recovery_hashes END,
    ${WRITE_ACCOUNT('$3', '$4')}
  FROM decision AS d WHERE stored.user_id = $1 AND NOT d.conflict AND d.removed
  RETURNING 1
)
SELECT conflict, removed, ${COUNT('kept')} AS remaining FROM decision`,
          [userId, factorId, doc, version],
        ),
      );
      // No row: no factor, and version 0.
      if (row === undefined) return version === 0 ? { removed: false, remaining: 0 } : 'conflict';
      if (row.conflict === true) return 'conflict';
      return { removed: row.removed === true, remaining: toInteger(row.remaining, 'remaining') };
    },

    async deleteFactors(
      userId: string,
      options: FactorChangeOptions,
    ): Promise<DeleteFactorsOutcome> {
      checkUserId(userId);
      const [version, doc] = accountValues(options?.account, 'options.account');
      const row = firstRow(
        await runWrite(
          client,
          'deleteFactors',
          `WITH current AS (
  SELECT account_version, factors <> '{}'::jsonb OR pending IS NOT NULL
    OR recovery_salt IS NOT NULL AS held
  FROM ${table} WHERE user_id = $1 FOR UPDATE
), decision AS (
  SELECT CASE WHEN account_version <> $3::bigint THEN 'conflict'
      WHEN held THEN 'deleted' ELSE 'nothing' END AS outcome
  FROM current
), updated AS (
  UPDATE ${table} AS stored SET factors = '{}'::jsonb, pending = NULL,
    pending_expires_at = NULL, recovery_salt = NULL, recovery_hashes = NULL,
    ${WRITE_ACCOUNT('$2', '$3')}
  FROM decision AS d WHERE stored.user_id = $1 AND d.outcome = 'deleted'
  RETURNING 1
)
SELECT outcome FROM decision`,
          [userId, doc, version],
        ),
      );
      const outcome = row?.outcome ?? (version === 0 ? 'nothing' : 'conflict');
      if (outcome === 'deleted' || outcome === 'nothing' || outcome === 'conflict') return outcome;
      throw new TypeError(`the store returned a bad outcome: ${describe(outcome)}`);
    },

    async deleteUser(userId: string, { now, guardMs }: DeleteUserOptions): Promise<boolean> {
      checkUserId(userId);
      const until =
        checkNow(now) + checkInteger(guardMs, 'guardMs', 0, Number.MAX_SAFE_INTEGER - now);
      // One statement: `old` locks the row (if any) and says whether it held
      // anything; the upsert clears it and sets the guard, or inserts a row
      // holding only the guard. A row another statement created after this
      // one's snapshot is cleared too (the upsert finds it), and counted as
      // holding something.
      const row = firstRow(
        await runWrite(
          client,
          'deleteUser',
          `WITH old AS (
  SELECT factors <> '{}'::jsonb OR pending IS NOT NULL OR recovery_salt IS NOT NULL
    OR otp_failures + recovery_failures > 0 OR account IS NOT NULL AS held
  FROM ${table} WHERE user_id = $1 FOR UPDATE
), guard AS (
  INSERT INTO ${table} AS stored (user_id, erased_until) VALUES ($1, $2)
  ON CONFLICT (user_id) DO UPDATE SET ${ERASE}, erased_until = EXCLUDED.erased_until
  RETURNING xmax = 0 AS inserted
)
SELECT (SELECT held FROM old) AS held, (SELECT inserted FROM guard) AS inserted`,
          [userId, until],
        ),
      );
      return row?.held === true || (row?.held == null && row?.inserted === false);
    },
  };
}
