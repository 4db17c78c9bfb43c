/**
 * How long the throttle state of a user without an active factor is kept,
 * and the per-call bound of `deleteExpired`: the defaults and their checks,
 * shared by every store so that the rule is the same everywhere.
 *
 * The rule: once a user has no active factor, their throttle state stops
 * mattering at `max(otp.blockedUntil, recovery.blockedUntil, pending
 * expiresAt if any) + throttleRetentionMs`. Until then a lock survives
 * `disable`, so that disabling cannot be used to reset it.
 * @module
 */
import { checkInteger, checkNow, checkOptions } from '../_assert.ts';
import type { DeleteExpiredOptions, UserRecord } from './contract.ts';

/** Seven days, in milliseconds: the default `throttleRetentionMs`. */
const DEFAULT_THROTTLE_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/** The default, and the largest, number of rows one `deleteExpired` call changes per step. */
const DEFAULT_DELETE_LIMIT = 10_000;
const MAX_DELETE_LIMIT = 1_000_000;

/** Checks a `throttleRetentionMs` option (`undefined`: the default). */
export function checkRetention(value: unknown): number {
  if (value === undefined) return DEFAULT_THROTTLE_RETENTION_MS;
  return checkInteger(value, 'throttleRetentionMs', 0, Number.MAX_SAFE_INTEGER);
}

/** Checks the arguments of `deleteExpired`, returning `now` and the limit. */
export function checkDeleteExpired(
  now: unknown,
  options: DeleteExpiredOptions | undefined,
): { now: number; limit: number } {
  const { limit = DEFAULT_DELETE_LIMIT } = checkOptions(options);
  return { now: checkNow(now), limit: checkInteger(limit, 'limit', 1, MAX_DELETE_LIMIT) };
}

/**
 * When the record's throttle state stops mattering under the rule, or
 * `null` while it has an active factor (then it is kept for ever).
 */
export function idleSince(record: UserRecord): number | null {
  if (record.factors.length > 0) return null;
  return Math.max(
    record.throttle.otp.blockedUntil,
    record.throttle.recovery.blockedUntil,
    record.pending?.expiresAt ?? 0,
  );
}

/**
 * Whether the account document keeps a factorless record at `now`: it must
 * stay until its `keepUntil`, and for ever while that is `null`.
 */
export function accountHeld(record: UserRecord, now: number): boolean {
  const keepUntil = record.account?.keepUntil;
  return keepUntil !== undefined && (keepUntil === null || now < keepUntil);
}
