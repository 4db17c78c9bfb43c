/**
 * The table: its schema, the in-place upgrade of a table of an earlier
 * version, and the periodic clean-up of expired enrollments, of rows whose
 * throttle state stopped mattering and of erasure guards that ended, each in
 * bounded batches found through a partial index that holds only the rows the
 * step may change.
 * @module
 */
import { checkDeleteExpired } from '../_retention.ts';
import { storeError } from '../scrub.ts';
import type { DeleteExpiredOptions, DeleteExpiredResult } from '../contract.ts';
import { COUNT, type PostgresQueryClient } from './table.ts';

/**
 * `idle_since`: for a row without an active factor, without an erasure guard
 * and without an account document, when its throttle state stops mattering
 * but for the retention (`max(otp_blocked_until, recovery_blocked_until,
 * pending_expires_at)`); `NULL` for a row with one. A stored generated column
 * rather than an expression index, so that the writes of a login (which
 * change `factors` and `otp_*` but leave it `NULL`) stay HOT updates:
 * PostgreSQL compares the indexed column's value, which does not change,
 * instead of the columns the expression reads.
 */
const IDLE_SINCE = `idle_since bigint GENERATED ALWAYS AS (CASE
    WHEN factors = '{}'::jsonb AND erased_until IS NULL AND account IS NULL
    THEN GREATEST(otp_blocked_until, recovery_blocked_until, pending_expires_at) END) STORED`;

/**
 * `kept_until`: for a row without an active factor and without an erasure
 * guard whose account document has a `keepUntil`, that time: the row goes at
 * or after it, once its throttle state stopped mattering too (`idle_since`'s
 * rule, checked when it is deleted). `NULL` otherwise, and so for a document
 * whose `keepUntil` is `null`: such a row is kept while it exists (its
 * generation must never go back to a value sessions were bound to).
 */
const KEPT_UNTIL = `kept_until numeric GENERATED ALWAYS AS (CASE
    WHEN factors = '{}'::jsonb AND erased_until IS NULL
      AND jsonb_typeof(account->'keepUntil') = 'number'
    THEN (account->'keepUntil')::numeric END) STORED`;

/**
 * `pending_clear_at`: when `deleteExpired` clears the row's pending enrollment
 * on its own (its expiry), or `NULL`: no enrollment, or one that goes with the
 * row instead (a user without an active factor who has failures: the
 * enrollment's expiry counts in `idle_since`). Indexed instead of
 * `pending_expires_at`, so that an empty call does not re-read the entries of
 * such users, however many there are. Stored, for the same reason as
 * `idle_since`: a login's writes to a row with a factor leave it unchanged.
 */
const PENDING_CLEAR_AT = `pending_clear_at bigint GENERATED ALWAYS AS (CASE
    WHEN factors <> '{}'::jsonb OR otp_failures + recovery_failures = 0
    THEN pending_expires_at END) STORED`;

/** A row under an erasure guard holds nothing but the user id and the guard. */
const GUARD_HOLDS_NOTHING = `CHECK (erased_until IS NULL OR (factors = '{}'::jsonb
    AND num_nonnulls(pending, recovery_salt) = 0 AND otp_failures + recovery_failures = 0))`;

/** Nor an account document (a separate constraint: it came later). */
const GUARD_HOLDS_NO_ACCOUNT = `CHECK (erased_until IS NULL OR account IS NULL)`;

/**
 * The schema, and the in-place upgrades, run in `migrate()`'s DO block under
 * its advisory lock (so concurrent calls upgrade once; on a table already
 * upgraded each step does nothing):
 *
 * - 0.1.0 (one factor in `factor_*` columns, the pending enrollment in
 *   `pending_*` columns): each row's factor becomes the one entry of
 *   `factors` (named "Authenticator"), its pending enrollment the `pending`
 *   object (replacing that factor once bound, as 0.1.0's `replaceActive`
 *   did), and the old columns are dropped. Recovery codes and throttle state
 *   stay where they are.
 * - 0.2 (and 0.1.0, and the schema before `idle_since`): one `ALTER TABLE`
 *   adds the guesses and the erasure guard (constant defaults: no rewrite),
 *   then the guesses are set as 0.2 counted: `otp_failures × max(1, active
 *   factors)` (0.2 locked a user with n factors after `ceil(maxFailures / n)`
 *   failures) and `recovery_failures`. A user locked under 0.2 stays
 *   locked, and one partly through a cycle keeps the attempts 0.2 left them.
 * - 0.2 and the 0.3 schema before the account document: one `ALTER TABLE`
 *   adds `account` (`NULL`: no document) and `account_version` (0), and the
 *   generated columns as 0.3 computes them (`pending_clear_at` if missing,
 *   `idle_since` again, `kept_until`): a single table rewrite.
 */
function schemaSQL(table: string, bare: string): string {
  // An index lives in its table's schema.
  const index = (suffix: string) => table.replace(/"[^"]*"$/, `"${bare}_${suffix}"`);
  const has = (column: string) => `EXISTS (SELECT 1 FROM pg_attribute
    WHERE attrelid = '${table}'::regclass AND attname = '${column}' AND NOT attisdropped)`;
  const factorOf = (prefix: 'factor' | 'pending') => `jsonb_build_object('id', ${prefix}_id,
    'name', 'Authenticator', 'nameKey', 'authenticator', 'sealedSecret', ${prefix}_secret,
    'algorithm', ${prefix}_algorithm, 'digits', ${prefix}_digits::text,
    'period', ${prefix}_period::text`;
  return `CREATE TABLE IF NOT EXISTS ${table} (
  user_id text PRIMARY KEY,
  factors jsonb NOT NULL DEFAULT '{}',
  pending jsonb,
  pending_expires_at bigint,
  recovery_salt text,
  recovery_hashes text[],
  otp_failures integer NOT NULL DEFAULT 0,
  otp_guesses integer NOT NULL DEFAULT 0,
  otp_blocked_until bigint NOT NULL DEFAULT 0,
  recovery_failures integer NOT NULL DEFAULT 0,
  recovery_guesses integer NOT NULL DEFAULT 0,
  recovery_blocked_until bigint NOT NULL DEFAULT 0,
  erased_until bigint,
  account jsonb,
  account_version bigint NOT NULL DEFAULT 0,
  ${IDLE_SINCE},
  ${PENDING_CLEAR_AT},
  ${KEPT_UNTIL},
  CHECK (num_nulls(pending, pending_expires_at) IN (0, 2)),
  CHECK (num_nulls(recovery_salt, recovery_hashes) IN (0, 2)),
  ${GUARD_HOLDS_NOTHING},
  ${GUARD_HOLDS_NO_ACCOUNT}
);
IF ${has('factor_id')} THEN
  ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS factors jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN IF NOT EXISTS pending jsonb;
  UPDATE ${table} SET factors = jsonb_build_object(factor_id, ${factorOf('factor')},
    'lastStep', factor_last_step::text, 'drift', factor_drift::text,
    'createdAt', factor_activated_at::text, 'activatedAt', factor_activated_at::text,
    'lastUsedAt', NULL))
  WHERE factor_id IS NOT NULL;
  UPDATE ${table} SET pending = ${factorOf('pending')},
    'createdAt', pending_created_at::text, 'expiresAt', pending_expires_at::text,
    'replaceFactorId', factor_id)
  WHERE pending_id IS NOT NULL;
  ALTER TABLE ${table} DROP COLUMN factor_id, DROP COLUMN factor_secret,
    DROP COLUMN factor_algorithm, DROP COLUMN factor_digits, DROP COLUMN factor_period,
    DROP COLUMN factor_last_step, DROP COLUMN factor_drift, DROP COLUMN factor_activated_at,
    DROP COLUMN pending_id, DROP COLUMN pending_secret, DROP COLUMN pending_algorithm,
    DROP COLUMN pending_digits, DROP COLUMN pending_period, DROP COLUMN pending_created_at;
  ALTER TABLE ${table} ADD CHECK (num_nulls(pending, pending_expires_at) IN (0, 2));
END IF;
IF NOT ${has('erased_until')} THEN
  ALTER TABLE ${table} ADD COLUMN otp_guesses integer NOT NULL DEFAULT 0,
    ADD COLUMN recovery_guesses integer NOT NULL DEFAULT 0,
    ADD COLUMN erased_until bigint,
    ADD ${GUARD_HOLDS_NOTHING};
  UPDATE ${table} SET otp_guesses = otp_failures * GREATEST(1, ${COUNT('factors')}),
    recovery_guesses = recovery_failures
  WHERE otp_failures > 0 OR recovery_failures > 0;
  DROP INDEX IF EXISTS ${index('pending_expires_at')};
END IF;
IF NOT ${has('account_version')} THEN
  ALTER TABLE ${table} DROP COLUMN IF EXISTS idle_since,
    ADD COLUMN account jsonb,
    ADD COLUMN account_version bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS ${PENDING_CLEAR_AT},
    ADD COLUMN ${IDLE_SINCE},
    ADD COLUMN ${KEPT_UNTIL},
    ADD ${GUARD_HOLDS_NO_ACCOUNT};
END IF;
CREATE INDEX IF NOT EXISTS "${bare}_pending_clear_at" ON ${table} (pending_clear_at)
  WHERE pending_clear_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS "${bare}_idle_since" ON ${table} (idle_since)
  WHERE idle_since IS NOT NULL;
CREATE INDEX IF NOT EXISTS "${bare}_erased_until" ON ${table} (erased_until)
  WHERE erased_until IS NOT NULL;
CREATE INDEX IF NOT EXISTS "${bare}_kept_until" ON ${table} (kept_until)
  WHERE kept_until IS NOT NULL;`;
}

/** The schema operations of a store on `table`, its statements built once. */
export function schemaOperations(
  client: PostgresQueryClient,
  table: string,
  bare: string,
  retentionMs: number,
) {
  const schema = schemaSQL(table, bare);
  // Each step picks and locks at most $2 rows through its partial index
  // (skipping rows a login holds), then changes them through the primary key:
  // the work is in proportion to the batch, not the table. No re-check is
  // needed: FOR UPDATE re-evaluates the condition on the newest version of
  // each row it locks, and the lock keeps that version until the change. The
  // expired enrollment of a user with failures and no factor stays (its
  // pending_clear_at is NULL, so the index holds no entry for it): its expiry
  // keeps their throttle state (idle_since), and it goes with the row.
  const clearPending = `UPDATE ${table} SET pending = NULL, pending_expires_at = NULL
WHERE user_id = ANY(ARRAY(SELECT user_id FROM ${table} WHERE pending_clear_at <= $1
  LIMIT $2 FOR UPDATE SKIP LOCKED))
RETURNING user_id`;
  const deleteIdle = `DELETE FROM ${table}
WHERE user_id = ANY(ARRAY(SELECT user_id FROM ${table} WHERE idle_since <= $1
  LIMIT $2 FOR UPDATE SKIP LOCKED))
RETURNING user_id`;
  // Rows kept by their account document until `kept_until` ($1, now), and
  // by their throttle state until idle_since's rule ($2): GREATEST ignores a
  // NULL pending_expires_at.
  const deleteKept = `DELETE FROM ${table}
WHERE user_id = ANY(ARRAY(SELECT user_id FROM ${table} WHERE kept_until <= $1
  AND GREATEST(otp_blocked_until, recovery_blocked_until, pending_expires_at) <= $2
  LIMIT $3 FOR UPDATE SKIP LOCKED))
RETURNING user_id`;
  // Erasure guards that ended: their rows hold nothing else.
  const deleteGuards = `DELETE FROM ${table}
WHERE user_id = ANY(ARRAY(SELECT user_id FROM ${table} WHERE erased_until <= $1
  LIMIT $2 FOR UPDATE SKIP LOCKED))
RETURNING user_id`;
  return {
    async migrate(): Promise<void> {
      // One DO block: a single statement, hence one transaction, even through a pool.
      // The table name is a checked identifier, so it is safe inside the literal.
      await client
        .query(
          `DO $totpkit$ BEGIN
PERFORM pg_advisory_xact_lock(hashtext('totpkit:${table}'));
${schema}
END $totpkit$`,
          [],
        )
        .catch((cause: unknown) => {
          throw storeError('PostgresStore.migrate', cause);
        });
    },

    async deleteExpired(
      now: number = Date.now(),
      options?: DeleteExpiredOptions,
    ): Promise<DeleteExpiredResult> {
      const checked = checkDeleteExpired(now, options);
      try {
        const cleared = await client.query(clearPending, [checked.now, checked.limit]);
        // A row idle since 0 holds nothing at all: it goes whatever the retention.
        const idleBefore = Math.max(0, checked.now - retentionMs);
        const deleted = await client.query(deleteIdle, [idleBefore, checked.limit]);
        const kept = await client.query(deleteKept, [checked.now, idleBefore, checked.limit]);
        const guards = await client.query(deleteGuards, [checked.now, checked.limit]);
        const enrollments = cleared.rows.length;
        return {
          enrollments,
          records: deleted.rows.length + kept.rows.length + guards.rows.length,
          more: [cleared, deleted, kept, guards].some(({ rows }) => rows.length === checked.limit),
        };
      } catch (cause) {
        throw storeError('PostgresStore.deleteExpired', cause);
      }
    },
  };
}
