/**
 * Enrollment: storing the pending enrollment, and binding it as a factor in
 * one statement that checks the erasure guard, the account version, the
 * secret's digest, the factor limit and the name, replaces `replaceFactorId`
 * (the first factor brings the recovery codes) and writes the account
 * document.
 * @module
 */
import { checkUserId, describe } from '../../_assert.ts';
import type {
  AddFactorResult,
  PendingActivation,
  PendingEnrollment,
  PutPendingOptions,
  PutPendingOutcome,
} from '../contract.ts';
import { encodePending } from '../_codec.ts';
import { toText } from '../_database.ts';
import { accountValues, WRITE_ACCOUNT } from './account.ts';
import { runWrite } from './statement.ts';
import { COUNT, DUPLICATE, firstRow, GUARDED, RESET_THROTTLE } from './table.ts';
import type { PostgresQueryClient, Row } from './table.ts';

/**
 * Binds the pending enrollment `$2` in one statement: `current` locks the
 * row; `decision` works out the factors that stay (without
 * `replaceFactorId`) and the outcome, in the contract's order (erasure
 * guard, account version, enrollment, duplicate secret, limit, name);
 * `updated` writes only for `'ok'`, the account document `$12` with it (at
 * version `$13` + 1). `$3` lastStep, `$4` drift, `$5` now, `$6` maxFactors,
 * `$7`/`$8` the recovery codes for a first factor, `$9`–`$11` the parameters
 * to bind instead of the enrollment's (`NULL`: the enrollment's). The factor
 * takes the enrollment's `secretDigest`, never its `previous`.
 */
function activateSQL(table: string): string {
  return `WITH current AS (
  SELECT factors, pending, erased_until, account_version FROM ${table} WHERE user_id = $1 FOR UPDATE
), kept AS (
  SELECT current.*, factors - coalesce(pending->>'replaceFactorId', '') AS kept FROM current
), decision AS (
  SELECT kept.*, CASE
      WHEN ${GUARDED('erased_until', '$5::bigint')} THEN 'erased'
      WHEN account_version <> $13::bigint THEN 'conflict'
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
    ${RESET_THROTTLE}, ${WRITE_ACCOUNT('$12', '$13')}
  FROM decision AS d WHERE stored.user_id = $1 AND d.outcome = 'ok'
  RETURNING 1
)
SELECT outcome, duplicate, first, replaced FROM decision`;
}

/**
 * Stores the pending enrollment `$2` (expiring at `$3`) in one statement.
 * `inserted` creates the row of a user without one, with the account
 * document `$5` if there is one and its version `$6` is 0 (the version of no
 * row); otherwise `current` locks the row and `decision` answers in the
 * contract's order (erasure guard at `$4`, the pending enrollment's
 * `createdAt`; then the account version, if `$5` is given); `updated` writes
 * only for `'stored'`, dropping a guard that ended. The enrollment replaced,
 * if unexpired at `$4` and another one, becomes the new one's `previous`.
 * Neither: the row was created after this statement's snapshot (run again),
 * or there is none and the version read was not 0 (a conflict).
 */
function putPendingSQL(table: string): string {
  return `WITH inserted AS (
  INSERT INTO ${table} (user_id, pending, pending_expires_at, account, account_version)
  SELECT $1, $2::jsonb, $3::bigint, $5::jsonb, CASE WHEN $5::text IS NULL THEN 0 ELSE 1 END
  WHERE $5::text IS NULL OR $6::bigint = 0
  ON CONFLICT (user_id) DO NOTHING
  RETURNING 1
), current AS (
  SELECT pending, erased_until, account_version FROM ${table} WHERE user_id = $1 FOR UPDATE
), decision AS (
  SELECT pending AS old, CASE WHEN ${GUARDED('erased_until', '$4::bigint')} THEN 'erased'
      WHEN $5::text IS NOT NULL AND account_version <> $6::bigint THEN 'conflict'
      ELSE 'stored' END AS outcome
  FROM current
), updated AS (
  UPDATE ${table} AS stored SET pending = $2::jsonb || jsonb_build_object('previous',
      CASE WHEN d.old->>'id' IS DISTINCT FROM $2::jsonb->>'id'
        AND (d.old->>'expiresAt')::bigint > $4::bigint
      THEN jsonb_build_object('id', d.old->'id', 'sealedSecret', d.old->'sealedSecret',
        'algorithm', d.old->'algorithm', 'digits', d.old->'digits', 'period', d.old->'period',
        'expiresAt', d.old->'expiresAt') END),
    pending_expires_at = $3::bigint, erased_until = NULL,
    account = CASE WHEN $5::text IS NULL THEN stored.account ELSE $5::jsonb END,
    account_version = CASE WHEN $5::text IS NULL THEN stored.account_version
      ELSE $6::bigint + 1 END
  FROM decision AS d WHERE stored.user_id = $1 AND d.outcome = 'stored'
  RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM inserted) AS inserted, (SELECT outcome FROM decision) AS outcome`;
}

/** How often `putPending` runs again when another statement created the row meanwhile. */
const PUT_ATTEMPTS = 3;

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
    outcome === 'erased' ||
    outcome === 'conflict'
  ) {
    return { ok: false, reason: outcome };
  }
  throw new TypeError(`the store returned a bad outcome: ${describe(outcome)}`);
}

/** The enrollment operations of a store on `table`, its statements built once. */
export function enrollmentOperations(client: PostgresQueryClient, table: string) {
  const activateStatement = activateSQL(table);
  const putStatement = putPendingSQL(table);
  return {
    async putPending(
      userId: string,
      pending: PendingEnrollment,
      options?: PutPendingOptions,
    ): Promise<PutPendingOutcome> {
      checkUserId(userId);
      const write = options?.account;
      const [version, doc] =
        write === undefined ? [null, null] : accountValues(write, 'options.account');
      const values = [
        userId,
        JSON.stringify(encodePending(pending)),
        pending.expiresAt,
        pending.createdAt,
        doc,
        version,
      ];
      for (let attempt = 0; attempt < PUT_ATTEMPTS; attempt++) {
        const row = firstRow(await runWrite(client, 'putPending', putStatement, values));
        if (row?.inserted === true) return 'stored';
        const outcome = row?.outcome;
        if (outcome === 'stored' || outcome === 'erased' || outcome === 'conflict') return outcome;
        if (outcome != null) {
          throw new TypeError(`the store returned a bad outcome: ${describe(outcome)}`);
        }
        // No row to lock: at any version but 0 that is a conflict (no row has
        // version 0); else the row was created after this statement's snapshot.
        if (version !== null && version !== 0) return 'conflict';
      }
      throw new Error('putPending could not lock the row of the user');
    },

    async activatePending(
      userId: string,
      pendingId: string,
      activation: PendingActivation,
    ): Promise<AddFactorResult> {
      checkUserId(userId);
      const codes = activation.recoveryCodes;
      const [version, doc] = accountValues(activation.account, 'activation.account');
      const row = firstRow(
        await runWrite(client, 'activatePending', activateStatement, [
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
          doc,
          version,
        ]),
      );
      // No row: nothing is pending, and its version is 0.
      if (row === undefined && version !== 0) return { ok: false, reason: 'conflict' };
      return toAddResult(row);
    },
  };
}
