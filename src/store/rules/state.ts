/**
 * The contract's rules over one user, written once as plain functions that
 * MemoryStore (a `Map` of these states) and MySQLStore (one state per row,
 * changed inside a transaction on the locked row) both call.
 *
 * A {@link UserState} is everything a store holds for one user: the record
 * and the end of an erasure guard. A rule takes the state, changes it in
 * place and returns the operation's outcome; it never awaits, so a caller
 * that holds the state alone (MemoryStore's single thread, MySQL's row lock)
 * makes the operation atomic. Inputs go in as copies, so a caller changing
 * an object after the call changes nothing stored. The user id is checked by
 * the store before the rule runs.
 *
 * The rules are grouped by flow, as the other stores' files are:
 * `enrollment.ts`, `login.ts`, `recovery.ts`, `factors.ts`, `account.ts`
 * (the account document, the admin reset and erasure) and `retention.ts`.
 * @module
 */
import type { AccountWrite, ThrottleState, UserRecord } from '../contract.ts';
import { isEmptyRecord } from '../throttle.ts';

/**
 * All a store holds for one user: the record (`null` if it holds nothing)
 * and the end of an erasure guard (`null` if none).
 */
export interface UserState {
  record: UserRecord | null;
  guardUntil: number | null;
}

/** A user the store holds nothing for (a fresh object each time: rules change it). */
export const emptyState = (): UserState => ({ record: null, guardUntil: null });

/** A throttle scope with nothing counted. */
export const fresh = (): ThrottleState => ({ failures: 0, guesses: 0, blockedUntil: 0 });

/** Whether the state holds nothing at all: the store may forget the user. */
export function holdsNothing(state: UserState): boolean {
  return state.record === null && state.guardUntil === null;
}

/**
 * Drops a record that holds nothing (no factor, enrollment, codes, failures
 * or document), so that "nothing" has one form. Rules leave such records
 * behind (a reset throttle scope); stores call this after every rule.
 */
export function settle(state: UserState): UserState {
  if (state.record !== null && isEmptyRecord(state.record)) state.record = null;
  return state;
}

/** The record as `getUser` returns it: a copy, or `null` if it holds nothing. */
export function view(state: UserState): UserRecord | null {
  const { record } = state;
  return record === null || isEmptyRecord(record) ? null : structuredClone(record);
}

/** The user's record, created empty if there is none (only to write into it). */
export function recordOf(state: UserState, userId: string): UserRecord {
  state.record ??= {
    userId,
    factors: [],
    pending: null,
    recoveryCodes: null,
    throttle: { otp: fresh(), recovery: fresh() },
    account: null,
    accountVersion: 0,
  };
  return state.record;
}

/**
 * Whether an erasure guard is in force at `at`; one that has ended is
 * dropped on the way.
 */
export function erased(state: UserState, at: number): boolean {
  if (state.guardUntil === null) return false;
  if (at < state.guardUntil) return true;
  state.guardUntil = null;
  return false;
}

/**
 * Whether an account write may be made: none is given, or the stored
 * version (0 without a record or a document) is still the one it read.
 */
export function current(state: UserState, write: AccountWrite | undefined): boolean {
  return write === undefined || (state.record?.accountVersion ?? 0) === write.version;
}

/** Makes an account write whose version {@link current} checked: the version moves by one. */
export function writeAccount(
  state: UserState,
  userId: string,
  write: AccountWrite | undefined,
): void {
  if (write === undefined) return;
  const record = recordOf(state, userId);
  record.account = structuredClone(write.account);
  record.accountVersion = write.version + 1;
}
