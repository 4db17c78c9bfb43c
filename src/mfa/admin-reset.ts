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
import type { AccountState, UserRecord } from '../store/contract.ts';
import { emptyAccount, withKeepUntil } from './_cas-interim.ts';
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

/** What a reset of `record` would remove. */
function removable(record: UserRecord | null, account: AccountState): AdminResetEvent['removed'] {
  return {
    factors: record?.factors.length ?? 0,
    pendingEnrollments: record?.pending ? 1 : 0,
    recoveryCodes: record?.recoveryCodes?.hashes.length ?? 0,
    devices: account.devices.length,
    proofs: account.proofs.length,
    verificationCodes: account.codes.length,
  };
}

/** Whether `record` holds anything a reset would change. */
function hasAnything(record: UserRecord | null, account: AccountState): boolean {
  if (record === null) return false;
  const { otp, recovery } = record.throttle;
  return (
    Object.values(removable(record, account)).some((n) => n > 0) ||
    record.recoveryCodes !== null ||
    account.budgets.length > 0 ||
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
  const deadline = Date.now() + 10_000;
  for (;;) {
    const record = await ctx.store.getUser(userId, now);
    const account = record?.account ?? emptyAccount();
    const removed = removable(record, account);
    if (!hasAnything(record, account)) {
      const generation = account.generation;
      const none = {
        factors: 0,
        pendingEnrollments: 0,
        recoveryCodes: 0,
        devices: 0,
        proofs: 0,
        verificationCodes: 0,
      };
      ctx.emit({
        type: 'admin_reset',
        userId,
        at: now,
        actor,
        reason,
        reset: false,
        generation,
        removed: none,
      });
      return { reset: false, generation };
    }
    const generation = account.generation + 1;
    const next = withKeepUntil({
      ...account,
      generation,
      codes: [],
      budgets: [],
      proofs: [],
      devices: [],
    });
    const outcome = await ctx.store.resetUser(userId, {
      version: record?.accountVersion ?? 0,
      account: next,
      now,
    });
    if (outcome === 'reset') {
      ctx.emit({
        type: 'admin_reset',
        userId,
        at: now,
        actor,
        reason,
        reset: true,
        generation,
        removed,
      });
      return { reset: true, generation };
    }
    if (outcome === 'erased') throw ctx.erased();
    if (outcome !== 'conflict') {
      throw new MFAError('ERR_STORE', `store.resetUser returned ${describe(outcome)}`);
    }
    if (Date.now() > deadline) throw new MFAError('ERR_STORE', 'contended');
    await new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * 19));
  }
}
