/**
 * Recovery rules: the set of recovery codes replaced (with the account
 * write) or one code spent, which unlocks the user; a sealed secret replaced
 * after re-encryption.
 * @module
 */
import type {
  FactorChangeOptions,
  RecoveryCodeSet,
  ReplaceRecoveryCodesOutcome,
} from '../contract.ts';
import { current, fresh, writeAccount, type UserState } from './state.ts';

/** `MFAStore.replaceRecoveryCodes` on one user's state. */
export function replaceRecoveryCodes(
  state: UserState,
  userId: string,
  codes: RecoveryCodeSet,
  { account }: FactorChangeOptions,
): ReplaceRecoveryCodesOutcome {
  if (!current(state, account)) return 'conflict';
  const record = state.record;
  if (!record || record.factors.length === 0) return 'no_factor';
  record.recoveryCodes = structuredClone(codes);
  writeAccount(state, userId, account);
  return 'replaced';
}

/** `MFAStore.consumeRecoveryCode` on one user's state. */
export function consumeRecoveryCode(state: UserState, _userId: string, hash: string): boolean {
  const record = state.record;
  const hashes = record?.recoveryCodes?.hashes;
  const index = hashes ? hashes.indexOf(hash) : -1;
  if (!record || !hashes || index < 0) return false;
  hashes.splice(index, 1);
  record.throttle = { otp: fresh(), recovery: fresh() };
  return true;
}

/** `MFAStore.replaceSealedSecret` on one user's state. */
export function replaceSealedSecret(
  state: UserState,
  _userId: string,
  id: string,
  sealedSecret: string,
): boolean {
  const pending = state.record?.pending;
  const target =
    state.record?.factors.find((f) => f.id === id) ??
    (pending?.id === id ? pending : pending?.previous);
  if (!target || target.id !== id) return false;
  target.sealedSecret = sealedSecret;
  return true;
}
