/**
 * Account rules: the account document written by compare-and-set, the admin
 * reset, and erasure, which leaves a guard in place of everything.
 * @module
 */
import type {
  AccountUpdateOutcome,
  AccountWriteOptions,
  DeleteUserOptions,
  ResetUserOutcome,
} from '../contract.ts';
import { isEmptyRecord } from '../throttle.ts';
import { current, erased, fresh, recordOf, writeAccount, type UserState } from './state.ts';

/** `MFAStore.updateAccount` on one user's state: creates the record if there is none. */
export function updateAccount(
  state: UserState,
  userId: string,
  options: AccountWriteOptions,
): AccountUpdateOutcome {
  if (erased(state, options.now)) return 'erased';
  if (!current(state, options)) return 'conflict';
  writeAccount(state, userId, options);
  return 'updated';
}

/** `MFAStore.resetUser` on one user's state: `'reset'` also for a user with nothing. */
export function resetUser(
  state: UserState,
  userId: string,
  options: AccountWriteOptions,
): ResetUserOutcome {
  if (erased(state, options.now)) return 'erased';
  if (!current(state, options)) return 'conflict';
  const record = recordOf(state, userId);
  record.factors = [];
  record.pending = null;
  record.recoveryCodes = null;
  record.throttle = { otp: fresh(), recovery: fresh() };
  writeAccount(state, userId, options);
  return 'reset';
}

/**
 * `MFAStore.deleteUser` on one user's state: everything goes, the document
 * included, and a guard until `now + guardMs` replaces any earlier one.
 */
export function deleteUser(
  state: UserState,
  _userId: string,
  { now, guardMs }: DeleteUserOptions,
): boolean {
  const held = state.record !== null && !isEmptyRecord(state.record);
  state.record = null;
  state.guardUntil = now + guardMs;
  return held;
}
