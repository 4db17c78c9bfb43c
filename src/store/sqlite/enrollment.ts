/**
 * Enrollment: storing the pending enrollment (with an account write, a
 * compare-and-set, when a proof is consumed), and binding it as a factor in
 * one transaction that checks the account version, the factor limit, the
 * name and the secret, replaces `replaceFactorId` (the first factor brings
 * the recovery codes) and writes the account document.
 * @module
 */
import { describe } from '../../_assert.ts';
import { toInteger } from '../_database.ts';
import { encodePending } from '../_codec.ts';
import type {
  AddFactorResult,
  PendingActivation,
  PendingEnrollment,
  PutPendingOptions,
  PutPendingOutcome,
} from '../contract.ts';
import type { SQLiteRow } from './driver.ts';
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

type Fragment = ReturnType<typeof sql>;

/** The guard test: the user's erasure guard (if any) is over at `now`. */
export function notGuarded(now: number): Fragment {
  return sql`(erased_until IS NULL OR erased_until <= ${now})`;
}

/**
 * The decision of binding or adding `factor` (an expression giving its
 * object) to the row's factors other than `replaced` (an expression giving a
 * factor id, or `NULL`): the refusals in the contract's order (a duplicate
 * secret first, so that a re-run import is recognised even at the limit),
 * else `'ok'`. A `NULL` digest equals nothing.
 */
export function addDecision(factor: Fragment, replaced: Fragment, maxFactors: number): Fragment {
  const others = sql`FROM json_each(factors) WHERE json_extract(value, '$.id') IS NOT ${replaced}`;
  return sql`CASE
    WHEN EXISTS (SELECT 1 ${others}
      AND json_extract(value, '$.secretDigest') = json_extract(${factor}, '$.secretDigest'))
      THEN 'duplicate_secret'
    WHEN (SELECT count(*) ${others}) + 1 > ${maxFactors} THEN 'factor_limit'
    WHEN EXISTS (SELECT 1 ${others}
      AND json_extract(value, '$.nameKey') = json_extract(${factor}, '$.nameKey')) THEN 'name_taken'
    ELSE 'ok' END`;
}

/** The id of the other factor with the same non-null secret digest as `factor`. */
export function duplicateOf(factor: Fragment, replaced: Fragment): Fragment {
  return sql`(SELECT json_extract(value, '$.id') FROM json_each(factors)
    WHERE json_extract(value, '$.id') IS NOT ${replaced}
      AND json_extract(value, '$.secretDigest') = json_extract(${factor}, '$.secretDigest'))`;
}

/**
 * The outcome of an activation or an addition, from its decision row (none:
 * the user has no row, so version 0 and no pending enrollment).
 */
export function toAddResult(row: SQLiteRow | undefined, conflict: boolean): AddFactorResult {
  const outcome = row?.outcome ?? (conflict ? 'conflict' : 'not_pending');
  if (outcome === 'ok') {
    return {
      ok: true,
      firstFactor: toInteger(row?.first, 'first') === 1,
      replaced: toInteger(row?.replaced, 'replaced') === 1,
    };
  }
  if (outcome === 'duplicate_secret') {
    const factorId = row?.duplicate;
    if (typeof factorId !== 'string') {
      throw new TypeError(`the store returned a bad duplicate: ${describe(factorId)}`);
    }
    return { ok: false, reason: outcome, factorId };
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

/** The enrollment operations of a store on `table`. */
export function enrollmentOperations({ driver, name }: Table) {
  return {
    async putPending(
      userId: string,
      pending: PendingEnrollment,
      options?: PutPendingOptions,
    ): Promise<PutPendingOutcome> {
      const write = options?.account;
      const text = write === undefined ? null : checkAccountWrite(write, 'options.account');
      // The enrollment replaced, if unexpired at createdAt and another one, is
      // kept as the new one's `previous`, in the same statement.
      const upsert = (values: Fragment, set: Fragment, where: Fragment) => sql`INSERT INTO ${name}
  (user_id, pending, pending_expires_at, account, account_version)
${values}
ON CONFLICT (user_id) DO UPDATE SET
  pending = json_set(excluded.pending, '$.previous', CASE
    WHEN json_extract(pending, '$.id') IS NOT json_extract(excluded.pending, '$.id')
      AND CAST(json_extract(pending, '$.expiresAt') AS INTEGER) > ${pending.createdAt}
    THEN json_object('id', json_extract(pending, '$.id'),
      'sealedSecret', json_extract(pending, '$.sealedSecret'),
      'algorithm', json_extract(pending, '$.algorithm'),
      'digits', json_extract(pending, '$.digits'), 'period', json_extract(pending, '$.period'),
      'expiresAt', json_extract(pending, '$.expiresAt')) END),
  pending_expires_at = excluded.pending_expires_at, erased_until = NULL${set}
WHERE ${notGuarded(pending.createdAt)}${where}
RETURNING user_id`;
      const stored = sql`json_set(${JSON.stringify(encodePending(pending))}, '$.previous', NULL)`;
      if (write === undefined) {
        const rows = await driver.run(
          upsert(sql`VALUES (${userId}, ${stored}, ${pending.expiresAt}, NULL, 0)`, sql``, sql``),
        );
        return rows.length === 1 ? 'stored' : 'erased';
      }
      // With an account write: a new row only at version 0, an existing one
      // only at the version read; the state read first says why not.
      const [state, written] = await driver.transaction([
        sql`SELECT erased_until, account_version FROM ${name} WHERE user_id = ${userId}`,
        upsert(
          sql`SELECT ${userId}, ${stored}, ${pending.expiresAt}, ${text}, ${write.version + 1}
WHERE ${write.version} = coalesce((SELECT account_version FROM ${name} WHERE user_id = ${userId}), 0)`,
          sql`, ${setAccount(write, text!)}`,
          sql` AND ${versionIs(write)}`,
        ),
      ]);
      if (written?.length === 1) return 'stored';
      const row = state?.[0];
      if (row === undefined) return 'conflict';
      const until = row.erased_until == null ? null : toInteger(row.erased_until, 'erased_until');
      return until !== null && pending.createdAt < until ? 'erased' : 'conflict';
    },

    async activatePending(
      userId: string,
      pendingId: string,
      activation: PendingActivation,
    ): Promise<AddFactorResult> {
      const codes = activation.recoveryCodes;
      const { now, account: write } = activation;
      const text = checkAccountWrite(write, 'activation.account');
      const replaced = sql`json_extract(pending, '$.replaceFactorId')`;
      const pendingFactor = sql`pending`;
      const decision = sql`CASE
    WHEN NOT ${notGuarded(now)} THEN 'erased'
    WHEN NOT ${versionIs(write)} THEN 'conflict'
    WHEN pending IS NULL OR json_extract(pending, '$.id') IS NOT ${pendingId}
      OR pending_expires_at <= ${now} THEN 'not_pending'
    ELSE ${addDecision(pendingFactor, replaced, activation.maxFactors)} END`;
      const params = activation.params;
      // The factor: the enrollment without its own fields, with the binding's.
      let factor = sql`json_set(json_remove(pending, '$.expiresAt', '$.replaceFactorId',
      '$.previous'), '$.lastStep', ${String(activation.lastStep)},
      '$.drift', ${String(activation.drift)}, '$.activatedAt', ${String(now)},
      '$.lastUsedAt', NULL)`;
      if (params !== undefined) {
        factor = sql`json_set(${factor}, '$.algorithm', ${params.algorithm},
      '$.digits', ${String(params.digits)}, '$.period', ${String(params.period)})`;
      }
      const [decided] = await driver.transaction([
        sql`SELECT ${decision} AS outcome, ${NO_FACTOR} AS first,
  EXISTS (SELECT 1 FROM json_each(factors) WHERE json_extract(value, '$.id') = ${replaced})
    AS replaced,
  ${duplicateOf(pendingFactor, replaced)} AS duplicate
FROM ${name} WHERE user_id = ${userId}`,
        // Every expression reads the row as it was before this UPDATE.
        sql`UPDATE ${name} SET
  factors = json_insert((SELECT json_group_array(json(value)) FROM json_each(factors)
    WHERE json_extract(value, '$.id') IS NOT ${replaced}), '$[#]', ${factor}),
  pending = NULL, pending_expires_at = NULL,
  recovery_salt = CASE WHEN ${NO_FACTOR} THEN ${codes?.salt ?? null} ELSE recovery_salt END,
  recovery_hashes = CASE WHEN ${NO_FACTOR} THEN ${codes === null ? null : JSON.stringify(codes.hashes)}
    ELSE recovery_hashes END,
  ${RESET_THROTTLE}, ${setAccount(write, text)}
WHERE user_id = ${userId} AND ${decision} = 'ok'`,
      ]);
      return toAddResult(decided?.[0], missingRowConflict(write));
    },
  };
}

/** What {@link enrollmentOperations} returns. */
export type EnrollmentOperations = ReturnType<typeof enrollmentOperations>;
