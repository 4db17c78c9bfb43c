/**
 * Login: reading the user's row, reserving an attempt before a code is
 * checked (with the read, in `readAndReserve`), recording an accepted code,
 * and the throttle's reset and refund. Each is one statement that locks the
 * row it decides on.
 *
 * An attempt is charged its weight (the secrets its code is compared with)
 * in `<scope>_guesses`, and the scope is locked once that reaches
 * `maxFailures`; `<scope>_failures` counts the attempts, for the back-off.
 * Only a reset lowers either, so removing factors cannot shed a lock.
 * @module
 */
import { checkInteger, checkNow, checkUserId } from '../../_assert.ts';
import { attemptDelayMs, MAX_ATTEMPT_WEIGHT } from '../throttle.ts';
import type {
  AttemptReservation,
  ReadAndReserveOptions,
  ReadAndReserveResult,
  RefundAttemptOptions,
  ReserveAttemptOptions,
  ThrottleScope,
  UserRecord,
} from '../contract.ts';
import { checkPolicy, checkRequirement, checkScope, toInteger } from '../_database.ts';
import { COLUMNS, COUNT, firstRow, GUARDED, toRecordOrNull, type Row } from './table.ts';
import type { PostgresQueryClient } from './table.ts';
import { runWrite } from './statement.ts';

/** How often a first reservation retries when another one created the row meanwhile. */
const RESERVE_ATTEMPTS = 3;

/**
 * `$2::bigint + attemptDelayMs(policy, next)`: the `blockedUntil` after
 * attempt number `next`, in exact numeric arithmetic. `$2` is `now`, `$3`
 * `freeAttempts`, `$4` `baseDelayMs`, `$5` `maxDelayMs`.
 */
function blockedUntilSQL(next: string): string {
  return `$2::bigint + (CASE
      WHEN ${next} < $3::integer THEN 0
      WHEN ${next} - $3::integer >= 52 THEN $5::numeric
      ELSE LEAST($5::numeric, $4::numeric * power(2::numeric, ${next} - $3::integer))
    END)::bigint`;
}

/** The policy's numbers as `$2`–`$6` (`$6`, `maxFailures`, may be `Infinity`: a float8). */
function policyValues(now: number, policy: ReserveAttemptOptions['policy']): unknown[] {
  checkPolicy(policy);
  return [now, policy.freeAttempts, policy.baseDelayMs, policy.maxDelayMs, policy.maxFailures];
}

/**
 * Reserves an attempt of weight `$8` in one statement. `inserted` creates the
 * row of a user seen for the first time (`$7`: its `blockedUntil`); otherwise
 * `existing` locks the row (and, under concurrency, waits for and reads its
 * newest version) and `updated` counts the attempt only if no erasure guard
 * is in force, the scope is not locked (`guesses < maxFailures`) and not
 * inside a back-off delay. Counting it on a row whose guard ended drops the
 * guard.
 */
function reserveSQL(table: string, scope: ThrottleScope): string {
  const [failures, guesses, blockedUntil] = [
    `${scope}_failures`,
    `${scope}_guesses`,
    `${scope}_blocked_until`,
  ];
  const next = `existing.failures + 1`;
  return `WITH inserted AS (
  INSERT INTO ${table} (user_id, ${failures}, ${guesses}, ${blockedUntil}) VALUES ($1, 1, $8, $7)
  ON CONFLICT (user_id) DO NOTHING
  RETURNING ${failures} AS failures, ${guesses} AS guesses
), existing AS (
  SELECT ${failures} AS failures, ${guesses} AS guesses, ${blockedUntil} AS blocked_until,
    ${GUARDED('erased_until', '$2::bigint')} AS erased
  FROM ${table} WHERE user_id = $1 FOR UPDATE
), updated AS (
  UPDATE ${table} AS stored SET ${failures} = ${next}, ${guesses} = existing.guesses + $8,
    ${blockedUntil} = ${blockedUntilSQL(next)}, erased_until = NULL
  FROM existing
  WHERE stored.user_id = $1 AND NOT existing.erased
    AND existing.guesses < $6::float8 AND existing.blocked_until <= $2::bigint
  RETURNING stored.${failures} AS failures, stored.${guesses} AS guesses
)
SELECT (SELECT failures FROM inserted) AS inserted_failures,
  (SELECT guesses FROM inserted) AS inserted_guesses,
  (SELECT failures FROM updated) AS updated_failures,
  (SELECT guesses FROM updated) AS updated_guesses,
  existing.erased, existing.guesses, existing.blocked_until
FROM (VALUES (1)) AS one LEFT JOIN existing ON true`;
}

/** What `readAndReserve` requires of the locked row before it reserves an attempt. */
const REQUIREMENTS = {
  active: `existing.factors <> '{}'::jsonb`,
  pending: `existing.pending IS NOT NULL AND existing.pending_expires_at > $2::bigint`,
} as const;

type Requirement = keyof typeof REQUIREMENTS;

/**
 * Reads the user's row and reserves an attempt in one statement. `existing`
 * locks the row (waiting for, then reading, its newest version) and `updated`
 * counts the attempt only if the row meets the requirement and the scope is
 * neither locked nor inside a back-off delay, exactly as in `reserveSQL`. The
 * weight is decided from the same row: its active factors for a login code
 * (`otp`, `active`), else 1. The result is the locked row as it was before
 * the update, whether the requirement was met, and the new counts if an
 * attempt was reserved. No row, no result: nothing is inserted for an
 * unknown user. A row under an erasure guard holds nothing, so it never
 * meets a requirement.
 */
function readAndReserveSQL(table: string, scope: ThrottleScope, requirement: Requirement): string {
  const [failures, guesses, blockedUntil] = [
    `${scope}_failures`,
    `${scope}_guesses`,
    `${scope}_blocked_until`,
  ];
  const next = `existing.${failures} + 1`;
  const met = `${REQUIREMENTS[requirement]} AND existing.erased_until IS NULL`;
  const weight =
    scope === 'otp' && requirement === 'active' ? `GREATEST(1, ${COUNT('existing.factors')})` : '1';
  return `WITH existing AS (
  SELECT ${COLUMNS}, pending_expires_at, erased_until FROM ${table} WHERE user_id = $1 FOR UPDATE
), updated AS (
  UPDATE ${table} AS stored SET ${failures} = ${next},
    ${guesses} = existing.${guesses} + ${weight}, ${blockedUntil} = ${blockedUntilSQL(next)}
  FROM existing
  WHERE stored.user_id = $1 AND ${met}
    AND existing.${guesses} < $6::float8 AND existing.${blockedUntil} <= $2::bigint
  RETURNING stored.${failures} AS reserved_failures, stored.${guesses} AS reserved_guesses
)
SELECT existing.*, ${met} AS met, (SELECT reserved_failures FROM updated) AS reserved_failures,
  (SELECT reserved_guesses FROM updated) AS reserved_guesses
FROM existing`;
}

/** The refusal a row's scope state gives when no attempt was reserved. */
function refusal(
  guesses: unknown,
  blockedUntil: unknown,
  now: number,
  policy: { maxFailures: number },
): AttemptReservation {
  if (toInteger(guesses, 'guesses') >= policy.maxFailures) return { ok: false, reason: 'locked' };
  const retryAfterMs = toInteger(blockedUntil, 'blocked_until') - now;
  return { ok: false, reason: 'throttled', retryAfterMs };
}

/** A granted reservation's counts, from the columns `failures` and `guesses` of `row`. */
function granted(row: Row, failures: string, guesses: string): AttemptReservation {
  return {
    ok: true,
    failures: toInteger(row[failures], 'failures'),
    guesses: toInteger(row[guesses], 'guesses'),
  };
}

/** The login operations of a store on `table`, its statements built once. */
export function loginOperations(client: PostgresQueryClient, table: string) {
  const reserveStatements = {
    otp: reserveSQL(table, 'otp'),
    recovery: reserveSQL(table, 'recovery'),
  };
  const readAndReserve = (scope: ThrottleScope) => ({
    active: readAndReserveSQL(table, scope, 'active'),
    pending: readAndReserveSQL(table, scope, 'pending'),
  });
  const readAndReserveStatements = {
    otp: readAndReserve('otp'),
    recovery: readAndReserve('recovery'),
  };
  return {
    async getUser(userId: string, _now: number): Promise<UserRecord | null> {
      checkUserId(userId);
      const row = firstRow(
        await client.query(`SELECT ${COLUMNS} FROM ${table} WHERE user_id = $1`, [userId]),
      );
      return toRecordOrNull(row);
    },

    async reserveAttempt(
      userId: string,
      { scope, now, policy, weight }: ReserveAttemptOptions,
    ): Promise<AttemptReservation> {
      checkUserId(userId);
      const sql = reserveStatements[checkScope(scope)];
      checkNow(now);
      checkInteger(weight, 'weight', 1, MAX_ATTEMPT_WEIGHT);
      const values = [
        userId,
        ...policyValues(now, policy),
        now + attemptDelayMs(policy, 1), // the first attempt of a new row
        weight,
      ];
      for (let attempt = 0; attempt < RESERVE_ATTEMPTS; attempt++) {
        const row = firstRow(await runWrite(client, 'reserveAttempt', sql, values));
        if (row === undefined) break;
        if (row.inserted_failures != null) {
          return granted(row, 'inserted_failures', 'inserted_guesses');
        }
        if (row.updated_failures != null)
          return granted(row, 'updated_failures', 'updated_guesses');
        // Neither: the row was created by a concurrent statement after this one's
        // snapshot, so it was not visible to lock. Run again: it is now.
        if (row.guesses == null) continue;
        if (row.erased === true) return { ok: false, reason: 'erased' };
        return refusal(row.guesses, row.blocked_until, now, policy);
      }
      throw new Error(`reserveAttempt could not lock the row of the user`);
    },

    async readAndReserve(
      userId: string,
      { scope, now, policy, requirement }: ReadAndReserveOptions,
    ): Promise<ReadAndReserveResult> {
      checkUserId(userId);
      const sql = readAndReserveStatements[checkScope(scope)][checkRequirement(requirement)];
      checkNow(now);
      const row = firstRow(
        await runWrite(client, 'readAndReserve', sql, [userId, ...policyValues(now, policy)]),
      );
      const record = toRecordOrNull(row);
      if (row === undefined || row.met !== true) return { record, reservation: null };
      if (row.reserved_failures != null) {
        return { record, reservation: granted(row, 'reserved_failures', 'reserved_guesses') };
      }
      const reservation = refusal(
        row[`${scope}_guesses`],
        row[`${scope}_blocked_until`],
        now,
        policy,
      );
      return { record, reservation };
    },

    async recordSuccess(
      userId: string,
      factorId: string,
      step: number,
      drift: number,
      now: number,
    ): Promise<boolean> {
      checkUserId(userId);
      const result = await runWrite(
        client,
        'recordSuccess',
        `UPDATE ${table} SET factors = jsonb_set(factors, ARRAY[$2::text],
    (factors->$2::text) || jsonb_build_object('lastStep', $3::text, 'drift', $4::text,
      'lastUsedAt', $5::text)),
  otp_failures = 0, otp_guesses = 0, otp_blocked_until = 0
WHERE user_id = $1 AND (factors->$2::text->>'lastStep')::bigint < $3::bigint
RETURNING user_id`,
        [userId, factorId, String(step), String(drift), String(now)],
      );
      return result.rows.length === 1;
    },

    async resetThrottle(userId: string, scope: ThrottleScope): Promise<void> {
      checkUserId(userId);
      const prefix = checkScope(scope);
      await runWrite(
        client,
        'resetThrottle',
        `UPDATE ${table} SET ${prefix}_failures = 0, ${prefix}_guesses = 0,
  ${prefix}_blocked_until = 0
WHERE user_id = $1
  AND (${prefix}_failures <> 0 OR ${prefix}_guesses <> 0 OR ${prefix}_blocked_until <> 0)`,
        [userId],
      );
    },

    async refundAttempt(
      userId: string,
      { scope, failures, guesses, weight, blockedUntil }: RefundAttemptOptions,
    ): Promise<boolean> {
      checkUserId(userId);
      const prefix = checkScope(scope);
      checkInteger(failures, 'failures', 0, Number.MAX_SAFE_INTEGER);
      checkInteger(guesses, 'guesses', 0, Number.MAX_SAFE_INTEGER);
      checkInteger(weight, 'weight', 1, MAX_ATTEMPT_WEIGHT);
      checkInteger(blockedUntil, 'blockedUntil', 0, Number.MAX_SAFE_INTEGER);
      const result = await runWrite(
        client,
        'refundAttempt',
        `UPDATE ${table} SET ${prefix}_failures = $2::integer - 1,
  ${prefix}_guesses = GREATEST(0, $3::integer - $4::integer), ${prefix}_blocked_until = $5
WHERE user_id = $1 AND ${prefix}_failures = $2::integer AND ${prefix}_guesses = $3::integer
  AND $2::integer >= 1
RETURNING user_id`,
        [userId, failures, guesses, weight, blockedUntil],
      );
      return result.rows.length === 1;
    },
  };
}
