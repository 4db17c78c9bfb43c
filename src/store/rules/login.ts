/**
 * Login rules: an attempt reserved before a code is checked (alone, or with
 * the read in one step), taken back when it was never checked, a success
 * recorded against replay, and an admin's unlock of one scope.
 * @module
 */
import type {
  AttemptReservation,
  ReadAndReserveOptions,
  ReadAndReserveResult,
  RefundAttemptOptions,
  ReserveAttemptOptions,
  ThrottleScope,
} from '../contract.ts';
import { attemptDelayMs, isLocked, meetsRequirement, reservationWeight } from '../throttle.ts';
import { erased, fresh, recordOf, view, type UserState } from './state.ts';

/** `MFAStore.reserveAttempt` on one user's state. */
export function reserveAttempt(
  state: UserState,
  userId: string,
  { scope, now, policy, weight }: ReserveAttemptOptions,
): AttemptReservation {
  if (erased(state, now)) return { ok: false, reason: 'erased' };
  const existing = state.record?.throttle[scope] ?? fresh();
  if (isLocked(existing, policy)) return { ok: false, reason: 'locked' };
  if (now < existing.blockedUntil) {
    return { ok: false, reason: 'throttled', retryAfterMs: existing.blockedUntil - now };
  }
  const scoped = recordOf(state, userId).throttle[scope];
  scoped.failures += 1;
  scoped.guesses += weight;
  scoped.blockedUntil = now + attemptDelayMs(policy, scoped.failures);
  return { ok: true, failures: scoped.failures, guesses: scoped.guesses };
}

/** `MFAStore.readAndReserve` on one user's state: the record before the reservation. */
export function readAndReserve(
  state: UserState,
  userId: string,
  { scope, now, policy, requirement }: ReadAndReserveOptions,
): ReadAndReserveResult {
  const record = view(state);
  if (!meetsRequirement(record, requirement, now)) return { record, reservation: null };
  const weight = reservationWeight(record, scope, requirement);
  return { record, reservation: reserveAttempt(state, userId, { scope, now, policy, weight }) };
}

/** `MFAStore.recordSuccess` on one user's state. */
export function recordSuccess(
  state: UserState,
  _userId: string,
  factorId: string,
  step: number,
  drift: number,
  now: number,
): boolean {
  const record = state.record;
  const factor = record?.factors.find((f) => f.id === factorId);
  if (!record || !factor || !(step > factor.lastStep)) return false;
  factor.lastStep = step;
  factor.drift = drift;
  factor.lastUsedAt = now;
  record.throttle.otp = fresh();
  return true;
}

/** `MFAStore.refundAttempt` on one user's state. */
export function refundAttempt(
  state: UserState,
  _userId: string,
  { scope, failures, guesses, weight, blockedUntil }: RefundAttemptOptions,
): boolean {
  const scoped = state.record?.throttle[scope];
  if (!scoped || scoped.failures !== failures || scoped.guesses !== guesses || failures < 1) {
    return false;
  }
  scoped.failures = failures - 1;
  scoped.guesses = Math.max(0, guesses - weight);
  scoped.blockedUntil = blockedUntil;
  return true;
}

/** `MFAStore.resetThrottle` on one user's state: creates nothing. */
export function resetThrottle(state: UserState, _userId: string, scope: ThrottleScope): void {
  if (state.record) state.record.throttle[scope] = fresh();
}
