/**
 * Retention rules, one user at a time: an expired pending enrollment
 * cleared, a record whose throttle state stopped mattering (and that no
 * account document holds) deleted, an erasure guard that ended dropped.
 * MemoryStore applies them across its users within `deleteExpired`'s limit;
 * MySQLStore to each row its indexes found.
 * @module
 */
import { accountHeld, idleSince } from '../_retention.ts';
import type { UserState } from './state.ts';

/**
 * Clears the pending enrollment if it expired at or before `now`, unless it
 * stays with the record: a user with failures and no factor keeps it, as its
 * expiry keeps their throttle state. Returns whether it cleared one.
 */
export function clearExpiredEnrollment(state: UserState, now: number): boolean {
  const record = state.record;
  if (record?.pending == null || record.pending.expiresAt > now) return false;
  const stays =
    record.factors.length === 0 &&
    record.throttle.otp.failures + record.throttle.recovery.failures > 0;
  if (stays) return false;
  record.pending = null;
  return true;
}

/**
 * Deletes the record if it has no active factor, its throttle state stopped
 * mattering (`idleSince + retentionMs ≤ now`) and its account document no
 * longer holds it. Returns whether it did.
 */
export function deleteIdleRecord(state: UserState, now: number, retentionMs: number): boolean {
  const record = state.record;
  if (record === null) return false;
  const since = idleSince(record);
  if (since === null || since > Math.max(0, now - retentionMs) || accountHeld(record, now)) {
    return false;
  }
  state.record = null;
  return true;
}

/** Drops an erasure guard whose `until` is at or before `now`; returns whether it did. */
export function dropEndedGuard(state: UserState, now: number): boolean {
  if (state.guardUntil === null || state.guardUntil > now) return false;
  state.guardUntil = null;
  return true;
}
