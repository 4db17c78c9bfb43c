/**
 * Factor rules: a factor renamed, one removed (the last one takes the
 * pending enrollment and the recovery codes with it), or all of them, with
 * the account write; throttle state is kept either way.
 * @module
 */
import type {
  DeleteFactorsOutcome,
  FactorChangeOptions,
  FactorRemoval,
  FactorRenameOutcome,
} from '../contract.ts';
import { current, writeAccount, type UserState } from './state.ts';

/** `MFAStore.renameFactor` on one user's state. */
export function renameFactor(
  state: UserState,
  _userId: string,
  factorId: string,
  name: string,
  nameKey: string,
): FactorRenameOutcome {
  const factors = state.record?.factors ?? [];
  const factor = factors.find((f) => f.id === factorId);
  if (!factor) return 'not_found';
  if (factors.some((f) => f.id !== factorId && f.nameKey === nameKey)) return 'name_taken';
  factor.name = name;
  factor.nameKey = nameKey;
  return 'renamed';
}

/** `MFAStore.removeFactor` on one user's state. */
export function removeFactor(
  state: UserState,
  userId: string,
  factorId: string,
  { account }: FactorChangeOptions,
): FactorRemoval | 'conflict' {
  if (!current(state, account)) return 'conflict';
  const record = state.record;
  if (!record) return { removed: false, remaining: 0 };
  const kept = record.factors.filter((f) => f.id !== factorId);
  const removed = kept.length < record.factors.length;
  if (!removed) return { removed, remaining: kept.length };
  record.factors = kept;
  if (kept.length === 0) {
    record.pending = null;
    record.recoveryCodes = null;
  }
  writeAccount(state, userId, account);
  return { removed, remaining: kept.length };
}

/** `MFAStore.deleteFactors` on one user's state. */
export function deleteFactors(
  state: UserState,
  userId: string,
  { account }: FactorChangeOptions,
): DeleteFactorsOutcome {
  if (!current(state, account)) return 'conflict';
  const record = state.record;
  if (!record || (record.factors.length === 0 && !record.pending && !record.recoveryCodes)) {
    return 'nothing';
  }
  record.factors = [];
  record.pending = null;
  record.recoveryCodes = null;
  writeAccount(state, userId, account);
  return 'deleted';
}
