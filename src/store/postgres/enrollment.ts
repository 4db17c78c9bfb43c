/**
 * Enrollment: storing the pending enrollment, and binding it as a factor in
 * one statement that checks the erasure guard, the secret's digest, the
 * factor limit and the name and replaces `replaceFactorId` (the first factor
 * brings the recovery codes).
 * @module
 */
import { checkUserId, describe } from '../../_assert.ts';
import type {
  AddFactorResult,
  PendingActivation,
  PendingEnrollment,
  PutPendingOutcome,
} from '../contract.ts';
import { encodePending } from '../_codec.ts';
import { toText } from '../_database.ts';
import { COUNT, DUPLICATE, firstRow, GUARDED, RESET_THROTTLE } from './table.ts';
import type { PostgresQueryClient, Row } from './table.ts';

/**
 * Binds the pending enrollment `$2` in one statement: `current` locks the
 * row; `decision` works out the factors that stay (without
 * `replaceFactorId`) and the outcome, in the contract's order (erasure
 * guard, enrollment, duplicate secret, limit, name); `updated` writes only
 * for `'ok'`. `$3` lastStep, `$4` drift, `$5` now, `$6` maxFactors, `$7`/`$8`
 * the recovery codes for a first factor, `$9`–`$11` the parameters to bind
 * instead of the enrollment's (`NULL`: the enrollment's). The factor takes
 * the enrollment's `secretDigest`, never its `previous`.
 */
function activateSQL(table: string): string {
  return `WITH current AS (
  SELECT factors, pending, erased_until FROM ${table} WHERE user_id = $1 FOR UPDATE
), kept AS (
  SELECT current.*, factors - coalesce(pending->>'replaceFactorId', '') AS kept FROM current
), decision AS (
  SELECT kept.*, CASE
      WHEN ${GUARDED('erased_until', '$5::bigint')} THEN 'erased'
      WHEN pending IS NULL OR pending->>'id' IS DISTINCT FROM $2::text
        OR (pending->>'expiresAt')::bigint <= $5::bigint THEN 'not_pending'
      WHEN ${DUPLICATE('kept.kept', "pending->>'secretDigest'")} IS NOT NULL THEN 'duplicate_secret'
      WHEN ${COUNT('kept.kept')} + 1 > $6::integer THEN 'factor_limit'
      WHEN EXISTS (SELECT 1 FROM jsonb_each(kept.kept) AS e
        WHERE e.value->>'nameKey' = pending->>'nameKey') THEN 'name_taken'
      ELSE 'ok' END AS outcome,
    ${DUPLICATE('kept.kept', "pending->>'secretDigest'")} AS duplicate,
    factors = '{}'::jsonb AS first, ${COUNT('kept.kept')} < ${COUNT('factors')} AS replaced
  FROM kept
), updated AS (
  UPDATE ${table} AS stored SET
    factors = d.kept || jsonb_build_object($2::text,
      (d.pending - 'expiresAt' - 'replaceFactorId' - 'previous')
      || jsonb_build_object('lastStep', $3::text, 'drift', $4::text, 'activatedAt', $5::text,
        'lastUsedAt', NULL)
      || CASE WHEN $9::text IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('algorithm',
        $9::text, 'digits', $10::text, 'period', $11::text) END),
    pending = NULL, pending_expires_at = NULL,
    recovery_salt = CASE WHEN d.first THEN $7::text ELSE stored.recovery_salt END,
    recovery_hashes = CASE WHEN d.first THEN $8::text[] ELSE stored.recovery_hashes END,
    ${RESET_THROTTLE}
  FROM decision AS d WHERE stored.user_id = $1 AND d.outcome = 'ok'
  RETURNING 1
)
SELECT outcome, duplicate, first, replaced FROM decision`;
}

/** The outcome of `activatePending` or `addFactor` from its statement's row. */
export function toAddResult(row: Row | undefined): AddFactorResult {
  const outcome = row?.outcome ?? 'not_pending';
  if (outcome === 'ok') {
    return { ok: true, firstFactor: row?.first === true, replaced: row?.replaced === true };
  }
  if (outcome === 'duplicate_secret') {
    return { ok: false, reason: outcome, factorId: toText(row?.duplicate, 'duplicate') };
  }
  if (
    outcome === 'not_pending' ||
    outcome === 'factor_limit' ||
    outcome === 'name_taken' ||
    outcome === 'erased'
  ) {
    return { ok: false, reason: outcome };
  }
  throw new TypeError(`the store returned a bad outcome: ${describe(outcome)}`);
}

/** The enrollment operations of a store on `table`, its statements built once. */
export function enrollmentOperations(client: PostgresQueryClient, table: string) {
  const activateStatement = activateSQL(table);
  return {
    async putPending(userId: string, pending: PendingEnrollment): Promise<PutPendingOutcome> {
      checkUserId(userId);
      // The enrollment replaced, if unexpired at $4 (createdAt) and another
      // one, is kept as the new one's `previous`, in the same statement. Under
      // an erasure guard in force at $4 the upsert writes nothing (no row
      // comes back); on a guard that ended, it drops the guard.
      const result = await client.query(
        `INSERT INTO ${table} AS stored (user_id, pending, pending_expires_at)
VALUES ($1, $2::jsonb, $3)
ON CONFLICT (user_id) DO UPDATE SET pending = EXCLUDED.pending || jsonb_build_object('previous',
    CASE WHEN stored.pending->>'id' IS DISTINCT FROM EXCLUDED.pending->>'id'
      AND (stored.pending->>'expiresAt')::bigint > $4::bigint
    THEN jsonb_build_object('id', stored.pending->'id',
      'sealedSecret', stored.pending->'sealedSecret', 'algorithm', stored.pending->'algorithm',
      'digits', stored.pending->'digits', 'period', stored.pending->'period',
      'expiresAt', stored.pending->'expiresAt') END),
  pending_expires_at = EXCLUDED.pending_expires_at, erased_until = NULL
WHERE NOT ${GUARDED('stored.erased_until', '$4::bigint')}
RETURNING 1`,
        [userId, JSON.stringify(encodePending(pending)), pending.expiresAt, pending.createdAt],
      );
      return result.rows.length === 1 ? 'stored' : 'erased';
    },

    async activatePending(
      userId: string,
      pendingId: string,
      activation: PendingActivation,
    ): Promise<AddFactorResult> {
      checkUserId(userId);
      const codes = activation.recoveryCodes;
      const row = firstRow(
        await client.query(activateStatement, [
          userId,
          pendingId,
          activation.lastStep,
          activation.drift,
          activation.now,
          activation.maxFactors,
          codes?.salt ?? null,
          codes?.hashes ?? null,
          activation.params?.algorithm ?? null,
          activation.params === undefined ? null : String(activation.params.digits),
          activation.params === undefined ? null : String(activation.params.period),
        ]),
      );
      return toAddResult(row);
    },
  };
}

/** What {@link enrollmentOperations} returns. */
export type EnrollmentOperations = ReturnType<typeof enrollmentOperations>;
