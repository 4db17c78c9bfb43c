// A small reference model of the MFA service's rules, for the model-based
// fuzz test (test/mfa/model.test.ts). It is written from the documented rules
// (docs/enrollment.md, docs/security-model.md, DESIGN.md), not from the
// service's code: several active factors per user, each with its own replay
// state and drift, kept in createdAt order; a code is looked up by generating
// the code of each step in the window, in the documented order, factor by
// factor; each accepted step must be newer than that factor's last; one
// attempt is reserved before each check, however many factors there are, and
// charged one guess per factor the code is compared with; a scope locks once
// its charged guesses since the last reset reach maxFailures, whatever
// happens to the factors meanwhile (docs/security-model.md, "The lock");
// failures back off; recovery codes (one set per user, made with the first
// factor, deleted with the last) work once; a secret enters once per user (an
// import of one the user has answers alreadyImported); after deleteUserData
// no call creates state for erasureGuardMs (ERR_ERASED).
//
// Each call is a pure function from a model state to `{ result, next }`, and,
// for calls that write twice, `reserved`/`partial`: the state after the first
// write only (what a store fault between writes leaves behind).
//
// Ids and recovery codes are random in the service: the test passes the ones
// the service returned (or, after a fault, the ones found in the store).
import { defaultName, nameKey, order, stepOf } from './mfa-model-codes.ts';
import { CodeChecks } from './mfa-model-checks.ts';
import {
  clone,
  emptyUser,
  fresh,
  remaining,
  type ModelFactor,
  type ModelUser,
  type Outcome,
} from './mfa-model-state.ts';

export * from './mfa-model-state.ts';
export { codeAt, nameKey, stepOf } from './mfa-model-codes.ts';

/** The calls that manage factors, on top of the code checks. */
export class Model extends CodeChecks {
  beginEnrollment(
    user: ModelUser,
    now: number,
    options: { name?: string; replaceFactorId?: string },
    id: string,
    secret: Uint8Array,
  ): Outcome {
    const { replaceFactorId } = options;
    if (replaceFactorId !== undefined && !user.factors.some((f) => f.id === replaceFactorId))
      return { result: 'ERR_FACTOR_NOT_FOUND', next: user };
    const kept = user.factors.filter((f) => f.id !== replaceFactorId);
    if (kept.length >= this.policy.maxFactors) return { result: 'ERR_FACTOR_LIMIT', next: user };
    const name = options.name ?? defaultName(kept);
    if (kept.some((f) => nameKey(f.name) === nameKey(name)))
      return { result: 'ERR_NAME_TAKEN', next: user };
    if (this.erased(user, now)) return { result: 'ERR_ERASED', next: user };
    const next = clone(user);
    const old = user.pending;
    next.pending = {
      id,
      name,
      secret,
      createdAt: now,
      expiresAt: now + this.policy.pendingTtlMs,
      replaceFactorId: replaceFactorId ?? null,
      // Only the last replaced one, and only while it is unexpired.
      previous:
        old && old.id !== id && now < old.expiresAt
          ? { id: old.id, secret: old.secret, expiresAt: old.expiresAt }
          : null,
    };
    return { result: { factorId: id, expiresAt: next.pending.expiresAt }, next };
  }

  /** `codes`: the recovery codes the service issued, if any. */

  regenerateRecoveryCodes(user: ModelUser, codes: readonly string[]): Outcome {
    if (user.factors.length === 0)
      return { result: { ok: false, reason: 'not_enrolled' }, next: user };
    const next = clone(user);
    next.recovery = { unused: [...codes], unseen: 0 };
    return { result: { ok: true, recoveryCodes: this.policy.recoveryCodeCount }, next };
  }

  status(user: ModelUser, now: number): Outcome {
    const factors = user.factors.length;
    const pending = user.pending && user.pending.expiresAt > now ? user.pending : null;
    const { otp, recovery } = user.throttle;
    const result = {
      state: factors > 0 ? 'active' : pending ? 'pending' : 'none',
      factors,
      pendingExpiresAt: pending?.expiresAt ?? null,
      recoveryCodesRemaining: factors > 0 ? remaining(user) : 0,
      locked: this.isLocked(user, 'otp'),
      recoveryLocked: this.isLocked(user, 'recovery'),
      retryAfterMs: Math.max(0, otp.blockedUntil - now),
    };
    return { result, next: user };
  }

  listFactors(user: ModelUser): Outcome {
    const result = user.factors.map((f) => ({
      id: f.id,
      name: f.name,
      createdAt: f.createdAt,
      activatedAt: f.activatedAt,
      lastUsedAt: f.lastUsedAt,
      drift: f.drift,
    }));
    return { result, next: user };
  }

  renameFactor(user: ModelUser, factorId: string, name: string): Outcome {
    const i = user.factors.findIndex((f) => f.id === factorId);
    if (i < 0) return { result: { ok: false, reason: 'not_found' }, next: user };
    if (user.factors.some((f) => f.id !== factorId && nameKey(f.name) === nameKey(name)))
      return { result: { ok: false, reason: 'name_taken' }, next: user };
    const next = clone(user);
    (next.factors[i] as ModelFactor).name = name;
    return { result: { ok: true }, next };
  }

  /** Removing the last factor is `disable`: the pending enrollment and recovery codes go too. */
  removeFactor(user: ModelUser, factorId: string): Outcome {
    if (!user.factors.some((f) => f.id === factorId))
      return { result: { ok: false, reason: 'not_found' }, next: user };
    const next = clone(user);
    next.factors = next.factors.filter((f) => f.id !== factorId);
    if (next.factors.length === 0) {
      next.pending = null;
      next.recovery = null;
    }
    return { result: { ok: true, remaining: next.factors.length }, next };
  }

  /** `id`/`codes`: what the service returned. No codes are checked; the throttle is untouched. */
  importFactor(
    user: ModelUser,
    now: number,
    options: { secret: Uint8Array; name?: string; lastStep?: number; recoveryCodes?: boolean },
    id: string,
    codes: readonly string[],
  ): Outcome {
    // lastStep may not be beyond the furthest step a code can be accepted at now,
    // and is that step when not given (docs/enrollment.md, "Importing existing secrets").
    const latest = stepOf(now) + this.policy.window;
    if (options.lastStep !== undefined && options.lastStep > latest)
      return { result: 'RangeError', next: user };
    const lastStep = options.lastStep ?? latest;
    // Recovery codes only when asked for, for a first factor.
    const makesCodes = options.recoveryCodes === true;
    const weak = options.secret.length < 16;
    // A secret the user already has enters no second time, whatever the name.
    const twin = user.factors.find((f) => Buffer.from(f.secret).equals(options.secret));
    if (twin)
      return { result: { ok: true, factorId: twin.id, weak, alreadyImported: true }, next: user };
    if (user.factors.length >= this.policy.maxFactors)
      return { result: { ok: false, reason: 'factor_limit' }, next: user };
    const name = options.name ?? defaultName(user.factors);
    if (user.factors.some((f) => nameKey(f.name) === nameKey(name)))
      return { result: { ok: false, reason: 'name_taken' }, next: user };
    if (this.erased(user, now)) return { result: 'ERR_ERASED', next: user };
    const next = clone(user);
    const firstFactor = user.factors.length === 0;
    next.factors = order([
      ...next.factors,
      {
        id,
        name,
        secret: options.secret,
        lastStep,
        drift: 0,
        createdAt: now,
        activatedAt: now,
        lastUsedAt: null,
      },
    ]);
    if (firstFactor) next.recovery = makesCodes ? { unused: [...codes], unseen: 0 } : null;
    const result =
      firstFactor && makesCodes
        ? {
            ok: true,
            factorId: id,
            weak,
            alreadyImported: false,
            recoveryCodes: this.policy.recoveryCodeCount,
          }
        : { ok: true, factorId: id, weak, alreadyImported: false };
    return { result, next };
  }

  disable(user: ModelUser): Outcome {
    const removed = Boolean(user.factors.length || user.pending || user.recovery);
    const next = clone(user);
    next.factors = [];
    next.pending = null;
    next.recovery = null;
    return { result: removed, next };
  }

  /**
   * Erasure: everything, throttle state included (unlike `disable`), and no
   * call creates state for the user until `now + erasureGuardMs`.
   */
  deleteUserData(user: ModelUser, now: number): Outcome {
    const { otp, recovery } = user.throttle;
    const removed = Boolean(
      user.factors.length || user.pending || user.recovery || otp.failures || recovery.failures,
    );
    return {
      result: removed,
      next: { ...emptyUser(), erasedUntil: now + this.policy.erasureGuardMs },
    };
  }

  unlock(user: ModelUser, scope: 'otp' | 'recovery' | undefined): Outcome {
    const next = clone(user);
    for (const s of scope ? [scope] : (['otp', 'recovery'] as const)) next.throttle[s] = fresh();
    if (scope) return { result: undefined, next };
    // Both scopes are two store writes, OTP first: a failure between them
    // leaves only the OTP scope unlocked (the safe side; unlocking again is idempotent).
    const partial = clone(user);
    partial.throttle.otp = fresh();
    return { result: undefined, next, reserved: partial };
  }

  /**
   * The test cipher always asks to be re-sealed: every factor, the pending
   * enrollment, and the unexpired one it replaced.
   */
  reencryptSecret(user: ModelUser, now: number): Outcome {
    const previous = user.pending?.previous;
    const count =
      user.factors.length + (user.pending ? 1 : 0) + (previous && now < previous.expiresAt ? 1 : 0);
    if (count === 0) return { result: { ok: false, reason: 'not_enrolled' }, next: user };
    return { result: { ok: true, reencrypted: true, count }, next: user };
  }
}
