/**
 * The table: its schema, the in-place upgrade of a 0.1.0 table, and the
 * periodic clean-up of expired enrollments and of rows whose throttle state
 * stopped mattering, both in bounded batches found through partial indexes.
 * @module
 */
import { checkDeleteExpired } from '../_retention.ts';
import { storeError } from '../_scrub.ts';
import type { DeleteExpiredOptions, DeleteExpiredResult } from '../contract.ts';
import type { PostgresQueryClient } from './table.ts';

/**
 * `idle_since`: for a row without an active factor, when its throttle state
 * stops mattering but for the retention (`max(otp_blocked_until,
 * recovery_blocked_until, pending_expires_at)`); `NULL` for a row with one.
 * A stored generated column rather than an expression index, so that the
 * writes of a login (which change `factors` and `otp_*` but leave it `NULL`)
 * stay HOT updates: PostgreSQL compares the indexed column's value, which does
 * not change, instead of the columns the expression reads.
 */
const IDLE_SINCE = `idle_since bigint GENERATED ALWAYS AS (CASE WHEN factors = '{}'::jsonb
    THEN GREATEST(otp_blocked_until, recovery_blocked_until, pending_expires_at) END) STORED`;

/**
 * The schema, and the in-place upgrade of a 0.1.0 table (one factor in
 * `factor_*` columns, the pending enrollment in `pending_*` columns): each
 * row's factor becomes the one entry of `factors` (named "Authenticator"),
 * its pending enrollment the `pending` object (replacing that factor once
 * bound, as 0.1.0's `replaceActive` did), and the old columns are dropped.
 * Recovery codes and throttle state stay where they are. It runs in
 * `migrate()`'s DO block, under its advisory lock, so concurrent calls upgrade
 * once; on a table already upgraded it does nothing.
 */
function schemaSQL(table: string, bare: string): string {
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
  otp_blocked_until bigint NOT NULL DEFAULT 0,
  recovery_failures integer NOT NULL DEFAULT 0,
  recovery_blocked_until bigint NOT NULL DEFAULT 0,
  ${IDLE_SINCE},
  CHECK (num_nulls(pending, pending_expires_at) IN (0, 2)),
  CHECK (num_nulls(recovery_salt, recovery_hashes) IN (0, 2))
);
IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '${table}'::regclass
    AND attname = 'factor_id' AND NOT attisdropped) THEN
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
IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '${table}'::regclass
    AND attname = 'idle_since' AND NOT attisdropped) THEN
  ALTER TABLE ${table} ADD COLUMN ${IDLE_SINCE};
END IF;
CREATE INDEX IF NOT EXISTS "${bare}_pending_expires_at" ON ${table} (pending_expires_at)
  WHERE pending_expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS "${bare}_idle_since" ON ${table} (idle_since)
  WHERE idle_since IS NOT NULL;`;
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
  // expired enrollment of a user with failures and no factor stays: its
  // expiry keeps their throttle state (idle_since), and it goes with the row.
  const expired = `pending_expires_at <= $1
  AND (factors <> '{}'::jsonb OR otp_failures + recovery_failures = 0)`;
  const clearPending = `UPDATE ${table} SET pending = NULL, pending_expires_at = NULL
WHERE user_id = ANY(ARRAY(SELECT user_id FROM ${table} WHERE ${expired}
  LIMIT $2 FOR UPDATE SKIP LOCKED))
RETURNING user_id`;
  const deleteIdle = `DELETE FROM ${table}
WHERE user_id = ANY(ARRAY(SELECT user_id FROM ${table} WHERE idle_since <= $1
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

    async deleteExpired(now: number, options?: DeleteExpiredOptions): Promise<DeleteExpiredResult> {
      const checked = checkDeleteExpired(now, options);
      try {
        const cleared = await client.query(clearPending, [checked.now, checked.limit]);
        // A row idle since 0 holds nothing at all: it goes whatever the retention.
        const idleBefore = Math.max(0, checked.now - retentionMs);
        const deleted = await client.query(deleteIdle, [idleBefore, checked.limit]);
        const enrollments = cleared.rows.length;
        const records = deleted.rows.length;
        return {
          enrollments,
          records,
          more: enrollments === checked.limit || records === checked.limit,
        };
      } catch (cause) {
        throw storeError('PostgresStore.deleteExpired', cause);
      }
    },
  };
}

/** What {@link schemaOperations} returns. */
export type SchemaOperations = ReturnType<typeof schemaOperations>;
