/**
 * Login: reading the user's row, reserving an attempt before a code is
 * checked (with the read, in `readAndReserve`), recording an accepted code,
 * and the throttle's reset and refund. Each is one statement that locks the
 * row it decides on.
 * @module
 */
import { attemptDelayMs, attemptLimit } from '../throttle.ts';
import type {
  AttemptPolicy,
  AttemptRequirement,
  AttemptReservation,
  ReadAndReserveResult,
  ThrottleScope,
  UserRecord,
} from '../contract.ts';
import { checkPolicy, checkRequirement, checkScope, toInteger } from '../_database.ts';
import { COLUMNS, COUNT, firstRow, toRecordOrNull } from './table.ts';
import type { PostgresQueryClient } from './table.ts';

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

/**
 * The lock threshold of a scope, `$6` being `maxFailures`: in `otp`,
 * `attemptLimit(maxFailures, n)` with `n` the active factors of the locked row.
 */
function limitSQL(scope: ThrottleScope, factors: string): string {
  return scope === 'otp'
    ? `GREATEST(1, ceil($6::float8 / GREATEST(1, ${COUNT(factors)})))`
    : `$6::float8`;
}

/**
 * Reserves an attempt in one statement. `inserted` creates the row of a user
 * seen for the first time; otherwise `existing` locks the row (and, under
 * concurrency, waits for and reads its newest version) and `updated` counts the
 * attempt only if the scope is neither locked nor inside a back-off delay.
 */
function reserveSQL(table: string, scope: ThrottleScope): string {
  const [failures, blockedUntil] = [`${scope}_failures`, `${scope}_blocked_until`];
  const next = `existing.failures + 1`;
  return `WITH inserted AS (
  INSERT INTO ${table} (user_id, ${failures}, ${blockedUntil}) VALUES ($1, 1, $7)
  ON CONFLICT (user_id) DO NOTHING
  RETURNING ${failures} AS failures
), existing AS (
  SELECT ${failures} AS failures, ${blockedUntil} AS blocked_until, factors
  FROM ${table} WHERE user_id = $1 FOR UPDATE
), updated AS (
  UPDATE ${table} AS stored SET ${failures} = ${next}, ${blockedUntil} = ${blockedUntilSQL(next)}
  FROM existing
  WHERE stored.user_id = $1
    AND existing.failures < ${limitSQL(scope, 'existing.factors')}
    AND existing.blocked_until <= $2::bigint
  RETURNING stored.${failures} AS failures
)
SELECT (SELECT failures FROM inserted) AS inserted, (SELECT failures FROM updated) AS updated,
  existing.failures, existing.blocked_until, ${COUNT('existing.factors')} AS factor_count
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
 * result is the locked row as it was before the update, whether the
 * requirement was met, and the new failure count if an attempt was reserved.
 * No row, no result: nothing is inserted for an unknown user.
 */
function readAndReserveSQL(table: string, scope: ThrottleScope, requirement: Requirement): string {
  const [failures, blockedUntil] = [`${scope}_failures`, `${scope}_blocked_until`];
  const next = `existing.${failures} + 1`;
  const met = REQUIREMENTS[requirement];
  return `WITH existing AS (
  SELECT ${COLUMNS}, pending_expires_at FROM ${table} WHERE user_id = $1 FOR UPDATE
), updated AS (
  UPDATE ${table} AS stored SET ${failures} = ${next}, ${blockedUntil} = ${blockedUntilSQL(next)}
  FROM existing
  WHERE stored.user_id = $1 AND ${met}
    AND existing.${failures} < ${limitSQL(scope, 'existing.factors')}
    AND existing.${blockedUntil} <= $2::bigint
  RETURNING stored.${failures} AS reserved
)
SELECT existing.*, ${met} AS met, (SELECT reserved FROM updated) AS reserved FROM existing`;
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
    async getUser(userId: string, now: number): Promise<UserRecord | null> {
      const row = firstRow(
        await client.query(`SELECT ${COLUMNS} FROM ${table} WHERE user_id = $1`, [userId]),
      );
      return toRecordOrNull(row);
    },

    async reserveAttempt(
      userId: string,
      scope: ThrottleScope,
      now: number,
      policy: AttemptPolicy,
    ): Promise<AttemptReservation> {
      const sql = reserveStatements[checkScope(scope)];
      checkPolicy(policy);
      const values = [
        userId,
        now,
        policy.freeAttempts,
        policy.baseDelayMs,
        policy.maxDelayMs,
        policy.maxFailures, // Infinity travels as the float8 'Infinity'
        now + attemptDelayMs(policy, 1), // the first attempt of a new row
      ];
      for (let attempt = 0; attempt < RESERVE_ATTEMPTS; attempt++) {
        const row = firstRow(await client.query(sql, values));
        if (row === undefined) break;
        if (row.inserted != null)
          return { ok: true, failures: toInteger(row.inserted, 'failures') };
        if (row.updated != null) return { ok: true, failures: toInteger(row.updated, 'failures') };
        // Neither: the row was created by a concurrent statement after this one's
        // snapshot, so it was not visible to lock. Run again: it is now.
        if (row.failures == null) continue;
        const failures = toInteger(row.failures, 'failures');
        const factorCount = toInteger(row.factor_count, 'factor_count');
        const limit =
          scope === 'otp' ? attemptLimit(policy.maxFailures, factorCount) : policy.maxFailures;
        if (failures >= limit) return { ok: false, reason: 'locked' };
        const blockedUntil = toInteger(row.blocked_until, 'blocked_until');
        return { ok: false, reason: 'throttled', retryAfterMs: blockedUntil - now };
      }
      throw new Error(`reserveAttempt could not lock the row of the user`);
    },

    async readAndReserve(
      userId: string,
      scope: ThrottleScope,
      now: number,
      policy: AttemptPolicy,
      requirement: AttemptRequirement,
    ): Promise<ReadAndReserveResult> {
      const sql = readAndReserveStatements[checkScope(scope)][checkRequirement(requirement)];
      checkPolicy(policy);
      const row = firstRow(
        await client.query(sql, [
          userId,
          now,
          policy.freeAttempts,
          policy.baseDelayMs,
          policy.maxDelayMs,
          policy.maxFailures, // Infinity travels as the float8 'Infinity'
        ]),
      );
      const record = toRecordOrNull(row);
      if (row === undefined || row.met !== true) return { record, reservation: null };
      if (row.reserved != null) {
        return { record, reservation: { ok: true, failures: toInteger(row.reserved, 'failures') } };
      }
      const failures = toInteger(row[`${scope}_failures`], `${scope}_failures`);
      const factorCount = record?.factors.length ?? 0;
      const limit =
        scope === 'otp' ? attemptLimit(policy.maxFailures, factorCount) : policy.maxFailures;
      if (failures >= limit) return { record, reservation: { ok: false, reason: 'locked' } };
      const blockedUntil = toInteger(row[`${scope}_blocked_until`], `${scope}_blocked_until`);
      return {
        record,
        reservation: { ok: false, reason: 'throttled', retryAfterMs: blockedUntil - now },
      };
    },

    async recordSuccess(
      userId: string,
      factorId: string,
      step: number,
      drift: number,
      now: number,
    ): Promise<boolean> {
      const result = await client.query(
        `UPDATE ${table} SET factors = jsonb_set(factors, ARRAY[$2::text],
    (factors->$2::text) || jsonb_build_object('lastStep', $3::text, 'drift', $4::text,
      'lastUsedAt', $5::text)),
  otp_failures = 0, otp_blocked_until = 0
WHERE user_id = $1 AND (factors->$2::text->>'lastStep')::bigint < $3::bigint
RETURNING user_id`,
        [userId, factorId, String(step), String(drift), String(now)],
      );
      return result.rows.length === 1;
    },

    async resetThrottle(userId: string, scope: ThrottleScope): Promise<void> {
      const prefix = checkScope(scope);
      await client.query(
        `UPDATE ${table} SET ${prefix}_failures = 0, ${prefix}_blocked_until = 0
WHERE user_id = $1`,
        [userId],
      );
    },

    async refundAttempt(
      userId: string,
      scope: ThrottleScope,
      failures: number,
      blockedUntil: number,
    ): Promise<boolean> {
      const prefix = checkScope(scope);
      const result = await client.query(
        `UPDATE ${table} SET ${prefix}_failures = $2::integer - 1,
  ${prefix}_blocked_until = $3
WHERE user_id = $1 AND ${prefix}_failures = $2::integer AND $2::integer >= 1
RETURNING user_id`,
        [userId, failures, blockedUntil],
      );
      return result.rows.length === 1;
    },
  };
}

/** What {@link loginOperations} returns. */
export type LoginOperations = ReturnType<typeof loginOperations>;
