/**
 * The admin reset (internal): what support runs for a user who lost every
 * factor, in one atomic store step (`store.resetUser`): every factor, the
 * pending enrollment, the recovery codes, the remembered devices, the live
 * verification codes, the proofs and the verification budgets go, both
 * throttle scopes are reset, and the security generation moves by one.
 * The send counters stay: a reset must not reopen a daily SMS cap.
 *
 * Compare-and-set like every account write, so a call of the user's own in
 * flight (an enrollment, a verify that issues a device or a proof) either
 * committed before the reset, and is wiped by it, or conflicts and is judged
 * again on the reset state: nothing survives half-applied. One `admin_reset`
 * event names the actor and the reason.
 * @module
 * @internal
 */
import { checkOptions, describe, isWellFormedText } from '../_assert.ts';
import { MFAError } from '../errors.ts';
import type { UserRecord } from '../store/contract.ts';
import { accountWrite, nextGeneration, RETRY, withAccount } from './account-state.ts';
import type { MFAContext } from './context.ts';
import type { AdminResetEvent } from './events.ts';
import { checkUserId } from './input.ts';
import type { AdminResetOptions } from './call-options.ts';
import type { AdminResetResult } from './results-account.ts';

/** A required text field of the options: 1 to `max` characters, no control characters. */
function checkText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string') {
    throw new TypeError(`"${field}" must be a string, got ${describe(value)}`);
  }
  const length = [...value].length;
  if (length === 0 || length > max) {
    throw new RangeError(`"${field}" must be 1 to ${max} characters long, got ${length}`);
  }
  if (!isWellFormedText(value)) {
    throw new RangeError(`"${field}" must be well-formed Unicode (no lone surrogates)`);
  }
  if (/\p{Cc}/u.test(value)) throw new RangeError(`"${field}" must not contain control characters`);
  return value;
}

/** Checks `adminReset`'s options: `actor` 1–256 characters, `reason` 1–1000. */
export function checkAdminResetOptions(options: AdminResetOptions): {
  actor: string;
  reason: string;
} {
  const { actor, reason } = checkOptions(options);
  return { actor: checkText(actor, 'actor', 256), reason: checkText(reason, 'reason', 1000) };
}

/** What a reset of `record` removes: everything stored, expired or not. */
function removable(record: UserRecord | null): AdminResetEvent['removed'] {
  const account = record?.account;
  return {
    factors: record?.factors.length ?? 0,
    pendingEnrollments: record?.pending ? 1 : 0,
    recoveryCodes: record?.recoveryCodes?.hashes.length ?? 0,
    devices: account?.devices.length ?? 0,
    proofs: account?.proofs.length ?? 0,
    verificationCodes: account?.codes.length ?? 0,
  };
}

/** Whether `record` holds anything a reset would change. */
function hasAnything(record: UserRecord | null): boolean {
  if (record === null) return false;
  const { otp, recovery } = record.throttle;
  return (
    Object.values(removable(record)).some((n) => n > 0) ||
    record.recoveryCodes !== null ||
    (record.account?.budgets.length ?? 0) > 0 ||
    [otp, recovery].some((s) => s.failures > 0 || s.guesses > 0 || s.blockedUntil > 0)
  );
}

/** See {@link MFA.adminReset}. */
export async function adminReset(
  ctx: MFAContext,
  userId: string,
  options: AdminResetOptions,
): Promise<AdminResetResult> {
  checkUserId(userId);
  const { actor, reason } = checkAdminResetOptions(options);
  const now = ctx.now();
  const done = await withAccount(ctx, userId, now, async (read) => {
    const { record, account } = read;
    const removed = removable(record);
    if (!hasAnything(record)) return { reset: false, generation: account.generation, removed };
    const next = {
      ...nextGeneration(account),
      // The send counters stay: a reset must not reopen a daily SMS cap.
      codes: [],
      budgets: [],
      proofs: [],
      devices: [],
    };
    const outcome = await ctx.store.resetUser(userId, {
      ...accountWrite(ctx, read, next, now),
      now,
    });
    if (outcome === 'reset') return { reset: true, generation: next.generation, removed };
    if (outcome === 'conflict') return RETRY;
    if (outcome === 'erased') throw ctx.erased();
    throw new MFAError('ERR_STORE', `store.resetUser returned ${describe(outcome)}`);
  });
  const { reset, generation, removed } = done;
  ctx.emit({ type: 'admin_reset', userId, at: now, actor, reason, reset, generation, removed });
  return { reset, generation };
}
