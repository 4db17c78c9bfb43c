/**
 * Enrollment rules: a pending enrollment stored (keeping the one it replaces
 * as `previous`), bound as a factor, or a factor imported directly; the
 * duplicate-secret, limit and name rules both bindings share.
 * @module
 */
import type {
  ActiveFactor,
  AddFactorOptions,
  AddFactorResult,
  PendingActivation,
  PendingEnrollment,
  PutPendingOptions,
  PutPendingOutcome,
} from '../contract.ts';
import { current, erased, fresh, recordOf, writeAccount, type UserState } from './state.ts';

/** `MFAStore.putPending` on one user's state. */
export function putPending(
  state: UserState,
  userId: string,
  pending: PendingEnrollment,
  options?: PutPendingOptions,
): PutPendingOutcome {
  if (erased(state, pending.createdAt)) return 'erased';
  if (!current(state, options?.account)) return 'conflict';
  writeAccount(state, userId, options?.account);
  const record = recordOf(state, userId);
  const old = record.pending;
  record.pending = {
    ...structuredClone(pending),
    // The enrollment this one replaces, if unexpired, is kept for stale-QR diagnosis.
    previous:
      old !== null && old.id !== pending.id && pending.createdAt < old.expiresAt
        ? {
            id: old.id,
            sealedSecret: old.sealedSecret,
            algorithm: old.algorithm,
            digits: old.digits,
            period: old.period,
            expiresAt: old.expiresAt,
          }
        : null,
  };
  return 'stored';
}

/**
 * Adds `factor` if the duplicate, limit and name rules allow, removing the
 * active factor `replaceFactorId` in the same step, with the account write:
 * shared by activatePending and addFactor. Creates the record only to write.
 */
function add(
  state: UserState,
  userId: string,
  factor: ActiveFactor,
  replaceFactorId: string | null,
  options: AddFactorOptions,
): AddFactorResult {
  const factors = state.record?.factors ?? [];
  const kept = factors.filter((f) => f.id !== replaceFactorId);
  const twin =
    factor.secretDigest === null
      ? undefined
      : kept.find((f) => f.secretDigest === factor.secretDigest);
  if (twin !== undefined) return { ok: false, reason: 'duplicate_secret', factorId: twin.id };
  if (kept.length + 1 > options.maxFactors) return { ok: false, reason: 'factor_limit' };
  if (kept.some((f) => f.nameKey === factor.nameKey)) return { ok: false, reason: 'name_taken' };
  const record = recordOf(state, userId);
  const firstFactor = record.factors.length === 0;
  const replaced = kept.length < record.factors.length;
  record.factors = [...kept, structuredClone(factor)].sort(
    (a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  if (firstFactor) record.recoveryCodes = structuredClone(options.recoveryCodes);
  writeAccount(state, userId, options.account);
  return { ok: true, firstFactor, replaced };
}

/** `MFAStore.activatePending` on one user's state. */
export function activatePending(
  state: UserState,
  userId: string,
  pendingId: string,
  activation: PendingActivation,
): AddFactorResult {
  if (erased(state, activation.now)) return { ok: false, reason: 'erased' };
  if (!current(state, activation.account)) return { ok: false, reason: 'conflict' };
  const record = state.record;
  const pending = record?.pending;
  if (!record || !pending || pending.id !== pendingId || !(activation.now < pending.expiresAt)) {
    return { ok: false, reason: 'not_pending' };
  }
  const factor: ActiveFactor = {
    id: pending.id,
    name: pending.name,
    nameKey: pending.nameKey,
    sealedSecret: pending.sealedSecret,
    secretDigest: pending.secretDigest,
    algorithm: activation.params?.algorithm ?? pending.algorithm,
    digits: activation.params?.digits ?? pending.digits,
    period: activation.params?.period ?? pending.period,
    lastStep: activation.lastStep,
    drift: activation.drift,
    createdAt: pending.createdAt,
    activatedAt: activation.now,
    lastUsedAt: null,
  };
  const result = add(state, userId, factor, pending.replaceFactorId, activation);
  if (result.ok) {
    record.pending = null;
    record.throttle = { otp: fresh(), recovery: fresh() };
  }
  return result;
}

/** `MFAStore.addFactor` on one user's state. */
export function addFactor(
  state: UserState,
  userId: string,
  factor: ActiveFactor,
  options: AddFactorOptions,
): AddFactorResult {
  if (erased(state, factor.activatedAt)) return { ok: false, reason: 'erased' };
  if (!current(state, options.account)) return { ok: false, reason: 'conflict' };
  return add(state, userId, factor, null, options);
}
