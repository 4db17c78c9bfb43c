/**
 * Login: reading the user's row, reserving an attempt before a code is
 * checked (with the read, in `readAndReserve`), recording an accepted code,
 * and the throttle's reset and refund.
 *
 * A reservation is one transaction of two statements: the conditional write
 * (`RETURNING` the counts it left, or nothing) and a read of the state it
 * decided on, so that a refusal says why. Both run under the write lock, so
 * nothing comes between them.
 * @module
 */
import { checkInteger } from '../../_assert.ts';
import { attemptDelayMs, MAX_ATTEMPT_WEIGHT } from '../throttle.ts';
import type {
  AttemptPolicy,
  AttemptRequirement,
  AttemptReservation,
  ReadAndReserveOptions,
  ReadAndReserveResult,
  RefundAttemptOptions,
  ReserveAttemptOptions,
  ThrottleScope,
  UserRecord,
} from '../contract.ts';
import { checkPolicy, checkRequirement, checkScope, toInteger } from '../_database.ts';
import type { SQLiteRow, SQLiteValue } from './driver.ts';
import {
  COLUMNS,
  FACTOR_COUNT,
  hasFactor,
  NO_FACTOR,
  raw,
  scopeColumns,
  sql,
  toRecordOrNull,
  withFactor,
  type Table,
} from './table.ts';

/** The weight of a reservation whose weight the store decides: `max(1, active factors)`. */
const FACTOR_WEIGHT = sql`max(1, ${FACTOR_COUNT})`;

/** The most `guesses` ever reach: it stands for `maxFailures = Infinity` (never locked). */
const NO_LOCK = Number.MAX_SAFE_INTEGER;

/**
 * `now + attemptDelayMs(policy, next)` in SQL, `next` being an expression:
 * `1 << k` doubles exactly, and a product too large for 64 bits turns into a
 * REAL larger than any `maxDelayMs`, which `min` then takes.
 */
function blockedUntil(next: ReturnType<typeof raw>, now: number, policy: AttemptPolicy) {
  const { freeAttempts: free, baseDelayMs: base, maxDelayMs: max } = policy;
  return sql`${now} + (CASE WHEN ${next} < ${free} THEN 0
    WHEN ${next} - ${free} >= 52 THEN ${max}
    ELSE min(${max}, ${base} * (1 << (${next} - ${free}))) END)`;
}

/** The guard test: the user's erasure guard (if any) is over at `now`. */
function notGuarded(now: number) {
  return sql`(erased_until IS NULL OR erased_until <= ${now})`;
}

/** What `readAndReserve` requires of the row before it reserves an attempt. */
function requirementMet(requirement: AttemptRequirement, now: number) {
  return requirement === 'active'
    ? sql`${NO_FACTOR} = 0`
    : sql`(pending IS NOT NULL AND pending_expires_at > ${now})`;
}

/**
 * The reservation's outcome from the write's `RETURNING` row (if it wrote)
 * or else from the state it decided on.
 */
function outcome(
  scope: ThrottleScope,
  written: SQLiteRow | undefined,
  state: SQLiteRow | undefined,
  now: number,
  maxFailures: number,
): AttemptReservation {
  if (written !== undefined) {
    return {
      ok: true,
      failures: toInteger(written.failures, 'failures'),
      guesses: toInteger(written.guesses, 'guesses'),
    };
  }
  if (state === undefined) throw new Error('the reservation found no row for the user');
  const erasedUntil =
    state.erased_until == null ? null : toInteger(state.erased_until, 'erased_until');
  if (erasedUntil !== null && now < erasedUntil) return { ok: false, reason: 'erased' };
  const guesses = toInteger(state[`${scope}_guesses`], `${scope}_guesses`);
  if (guesses >= maxFailures) return { ok: false, reason: 'locked' };
  const until = toInteger(state[`${scope}_blocked_until`], `${scope}_blocked_until`);
  return { ok: false, reason: 'throttled', retryAfterMs: until - now };
}

/** The login operations of a store on `table`. */
export function loginOperations({ driver, name }: Table) {
  return {
    async getUser(userId: string, _now: number): Promise<UserRecord | null> {
      const rows = await driver.run(sql`SELECT ${COLUMNS} FROM ${name} WHERE user_id = ${userId}`);
      return toRecordOrNull(rows[0]);
    },

    async reserveAttempt(
      userId: string,
      { scope, now, policy, weight }: ReserveAttemptOptions,
    ): Promise<AttemptReservation> {
      const { failures: F, guesses: G, blockedUntil: B } = scopeColumns(checkScope(scope));
      checkPolicy(policy);
      checkInteger(weight, 'weight', 1, MAX_ATTEMPT_WEIGHT);
      const max = policy.maxFailures === Infinity ? NO_LOCK : policy.maxFailures;
      // The first attempt of a new user inserts the row; later ones update it
      // only if it is neither guarded, locked nor inside a back-off delay.
      const [written, state] = await driver.transaction([
        sql`INSERT INTO ${name} (user_id, ${F}, ${G}, ${B})
VALUES (${userId}, 1, ${weight}, ${now + attemptDelayMs(policy, 1)})
ON CONFLICT (user_id) DO UPDATE SET ${F} = ${F} + 1, ${G} = ${G} + ${weight},
  ${B} = ${blockedUntil(raw(`${F.sql} + 1`), now, policy)}, erased_until = NULL
WHERE ${notGuarded(now)} AND ${G} < ${max} AND ${B} <= ${now}
RETURNING ${F} AS failures, ${G} AS guesses`,
        sql`SELECT ${G}, ${B}, erased_until FROM ${name} WHERE user_id = ${userId}`,
      ]);
      return outcome(scope, written?.[0], state?.[0], now, max);
    },

    async readAndReserve(
      userId: string,
      { scope, now, policy, requirement }: ReadAndReserveOptions,
    ): Promise<ReadAndReserveResult> {
      const { failures: F, guesses: G, blockedUntil: B } = scopeColumns(checkScope(scope));
      const met = requirementMet(checkRequirement(requirement), now);
      checkPolicy(policy);
      const max = policy.maxFailures === Infinity ? NO_LOCK : policy.maxFailures;
      // Binding checks the one pending secret, and a recovery code is one guess.
      const weight: ReturnType<typeof sql> =
        scope === 'otp' && requirement === 'active' ? FACTOR_WEIGHT : sql`${1 as SQLiteValue}`;
      // The read first: the record and the decision come from the same row,
      // before the write. Nothing is inserted for a user without a row.
      const [read, written] = await driver.transaction([
        sql`SELECT ${COLUMNS}, ${met} AS met FROM ${name} WHERE user_id = ${userId}`,
        sql`UPDATE ${name} SET ${F} = ${F} + 1, ${G} = ${G} + ${weight},
  ${B} = ${blockedUntil(raw(`${F.sql} + 1`), now, policy)}
WHERE user_id = ${userId} AND ${met} AND ${notGuarded(now)} AND ${G} < ${max} AND ${B} <= ${now}
RETURNING ${F} AS failures, ${G} AS guesses`,
      ]);
      const row = read?.[0];
      const record = toRecordOrNull(row);
      if (row === undefined || toInteger(row.met, 'met') !== 1)
        return { record, reservation: null };
      return { record, reservation: outcome(scope, written?.[0], row, now, max) };
    },

    async recordSuccess(
      userId: string,
      factorId: string,
      step: number,
      drift: number,
      now: number,
    ): Promise<boolean> {
      const rows = await driver.run(sql`UPDATE ${name} SET factors = ${withFactor(
        factorId,
        sql`json_set(value, '$.lastStep', ${String(step)}, '$.drift', ${String(drift)},
      '$.lastUsedAt', ${String(now)})`,
      )},
  otp_failures = 0, otp_guesses = 0, otp_blocked_until = 0
WHERE user_id = ${userId} AND ${hasFactor(factorId)}
  AND (SELECT CAST(json_extract(value, '$.lastStep') AS INTEGER) FROM json_each(factors)
    WHERE json_extract(value, '$.id') = ${factorId}) < ${step}
RETURNING user_id`);
      return rows.length === 1;
    },

    async resetThrottle(userId: string, scope: ThrottleScope): Promise<void> {
      const { failures: F, guesses: G, blockedUntil: B } = scopeColumns(checkScope(scope));
      await driver.run(sql`UPDATE ${name} SET ${F} = 0, ${G} = 0, ${B} = 0
WHERE user_id = ${userId}`);
    },

    async refundAttempt(
      userId: string,
      { scope, failures, guesses, weight, blockedUntil: before }: RefundAttemptOptions,
    ): Promise<boolean> {
      const { failures: F, guesses: G, blockedUntil: B } = scopeColumns(checkScope(scope));
      const rows = await driver.run(sql`UPDATE ${name} SET ${F} = ${F} - 1, ${G} = ${G} - ${weight},
  ${B} = ${before}
WHERE user_id = ${userId} AND ${F} = ${failures} AND ${G} = ${guesses} AND ${F} >= 1
  AND ${G} >= ${weight}
RETURNING user_id`);
      return rows.length === 1;
    },
  };
}

/** What {@link loginOperations} returns. */
export type LoginOperations = ReturnType<typeof loginOperations>;
