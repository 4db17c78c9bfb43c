/**
 * The reference model's code checks (test/helpers/mfa-model.ts): the
 * throttle's reservation, a binding, verify, resync and recovery codes.
 */
import {
  delayMs,
  findPair,
  isCode,
  nameKey,
  normalize,
  order,
  pairInWindow,
  pairProblem,
  skewOf,
  stepOf,
  codeAt,
  windowSteps,
} from './mfa-model-codes.ts';
import {
  clone,
  fresh,
  remaining,
  PERIOD_MS,
  type ModelFactor,
  type ModelPolicy,
  type ModelUser,
  type Outcome,
} from './mfa-model-state.ts';

/** The calls that check a code: each reserves an attempt first (RFC 4226 §7.3). */
export class CodeChecks {
  constructor(readonly policy: ModelPolicy) {}

  /** Whether a scope is locked: its charged guesses reached the budget. */
  isLocked(user: ModelUser, scope: 'otp' | 'recovery'): boolean {
    const policy = scope === 'otp' ? this.policy.throttle : this.policy.recoveryThrottle;
    return user.throttle[scope].guesses >= policy.maxFailures;
  }

  /** Whether the erasure guard is in force at `now`. */
  erased(user: ModelUser, now: number): boolean {
    return user.erasedUntil !== null && now < user.erasedUntil;
  }

  /**
   * RFC 4226 §7.3 throttling: reserve an attempt in `user` (mutated), charged
   * `weight` guesses (the secrets the code is compared with), or refuse.
   */
  reserve(user: ModelUser, scope: 'otp' | 'recovery', now: number, weight: number): unknown | null {
    const policy = scope === 'otp' ? this.policy.throttle : this.policy.recoveryThrottle;
    const state = user.throttle[scope];
    if (this.isLocked(user, scope)) return { ok: false, reason: 'locked' };
    if (now < state.blockedUntil) {
      return { ok: false, reason: 'throttled', retryAfterMs: state.blockedUntil - now };
    }
    state.failures += 1;
    state.guesses += weight;
    state.blockedUntil = now + delayMs(policy, state.failures);
    return null;
  }

  /** `id`/`secret`: the pending enrollment the service made (the model cannot guess them). */

  completeEnrollment(
    user: ModelUser,
    now: number,
    code1: string,
    code2: string,
    codes: readonly string[],
  ): Outcome {
    const [first, second] = [normalize(code1), normalize(code2)];
    const pending = user.pending;
    if (!pending) return { result: { ok: false, reason: 'not_pending' }, next: user };
    if (pending.expiresAt <= now) return { result: { ok: false, reason: 'expired' }, next: user };
    const problem = pairProblem(first, second);
    if (problem) return { result: { ok: false, reason: problem }, next: user };
    const next = clone(user);
    // A binding compares the codes with the one pending secret.
    const refused = this.reserve(next, 'otp', now, 1);
    if (refused) return { result: refused, next: user };
    const reserved = clone(next);
    const pair = findPair(pending.secret, first, second, now, this.policy.bindingWindow, -1);
    if (!pair.ok) {
      const reason = pair.reason === 'replayed' ? 'mismatch' : pair.reason;
      if (reason === 'mismatch') {
        // The diagnosis (issue 12): other secrets inside the binding window
        // (the user's factors, then the replaced enrollment), then the clock.
        // Every factor here is SHA1/6/30, so app_ignored_parameters never applies.
        const window = this.policy.bindingWindow;
        for (const f of user.factors) {
          if (pairInWindow(f.secret, first, second, now, window)) {
            const result = { ok: false, reason: 'existing_factor', factorId: f.id, name: f.name };
            return { result, next, reserved };
          }
        }
        const previous = pending.previous;
        if (
          previous &&
          now < previous.expiresAt &&
          pairInWindow(previous.secret, first, second, now, window)
        ) {
          return { result: { ok: false, reason: 'stale_qr' }, next, reserved };
        }
        const skewSeconds = skewOf(pending.secret, first, second, now);
        if (skewSeconds !== null) {
          return { result: { ok: false, reason: 'clock_skew', skewSeconds }, next, reserved };
        }
      }
      return { result: { ok: false, reason }, next, reserved };
    }
    // The bind re-checks the limit and the name, replacing in the same step.
    const kept = next.factors.filter((f) => f.id !== pending.replaceFactorId);
    if (kept.length + 1 > this.policy.maxFactors)
      return { result: { ok: false, reason: 'factor_limit' }, next, reserved };
    if (kept.some((f) => nameKey(f.name) === nameKey(pending.name)))
      return { result: { ok: false, reason: 'name_taken' }, next, reserved };
    const firstFactor = next.factors.length === 0;
    next.factors = order([
      ...kept,
      {
        id: pending.id,
        name: pending.name,
        secret: pending.secret,
        lastStep: pair.end,
        drift: pair.drift,
        createdAt: pending.createdAt,
        activatedAt: now,
        lastUsedAt: null,
      },
    ]);
    next.pending = null;
    if (firstFactor) next.recovery = { unused: [...codes], unseen: 0 };
    next.throttle = { otp: fresh(), recovery: fresh() };
    const clockOffsetSeconds = pair.drift * (PERIOD_MS / 1000) + 0;
    const result = firstFactor
      ? {
          ok: true,
          factorId: pending.id,
          clockOffsetSeconds,
          recoveryCodes: this.policy.recoveryCodeCount,
        }
      : { ok: true, factorId: pending.id, clockOffsetSeconds };
    return { result, next, reserved };
  }

  verify(user: ModelUser, now: number, code: string): Outcome {
    const input = normalize(code);
    if (user.factors.length === 0)
      return { result: { ok: false, reason: 'not_enrolled' }, next: user };
    if (!isCode(input)) return { result: { ok: false, reason: 'malformed' }, next: user };
    const next = clone(user);
    // The code is compared with every factor (all have 6 digits here).
    const refused = this.reserve(next, 'otp', now, user.factors.length);
    if (refused) return { result: refused, next: user };
    const reserved = clone(next);
    const current = stepOf(now);
    let replayed = false;
    let drifted = false;
    for (const [i, factor] of user.factors.entries()) {
      for (const step of windowSteps(current + factor.drift, this.policy.window)) {
        if (step < 0 || codeAt(factor.secret, step) !== input) continue;
        if (step <= factor.lastStep) {
          replayed = true;
          continue;
        }
        const drift = step - current;
        if (Math.abs(drift) > Math.max(this.policy.maxDrift, Math.abs(factor.drift))) {
          drifted = true;
          break;
        }
        Object.assign(next.factors[i] as ModelFactor, { lastStep: step, drift, lastUsedAt: now });
        next.throttle.otp = fresh();
        return { result: { ok: true, factorId: factor.id }, next, reserved };
      }
    }
    const reason = drifted ? 'resync_required' : replayed ? 'replayed' : 'mismatch';
    return { result: { ok: false, reason }, next, reserved };
  }

  resync(user: ModelUser, now: number, code1: string, code2: string): Outcome {
    const [first, second] = [normalize(code1), normalize(code2)];
    if (user.factors.length === 0)
      return { result: { ok: false, reason: 'not_enrolled' }, next: user };
    const problem = pairProblem(first, second);
    if (problem) return { result: { ok: false, reason: problem }, next: user };
    const next = clone(user);
    const refused = this.reserve(next, 'otp', now, user.factors.length);
    if (refused) return { result: refused, next: user };
    const reserved = clone(next);
    let reason = 'mismatch';
    // The first factor whose codes match far from now: the device clock is off (issue 12).
    let skewSeconds: number | null = null;
    for (const [i, factor] of user.factors.entries()) {
      const pair = findPair(
        factor.secret,
        first,
        second,
        now,
        this.policy.bindingWindow,
        factor.lastStep,
      );
      if (!pair.ok) {
        if (pair.reason === 'mismatch' && skewSeconds === null) {
          skewSeconds = skewOf(factor.secret, first, second, now);
        }
        if (pair.reason === 'replayed') reason = 'replayed';
        else if (pair.reason === 'wrong_order' && reason === 'mismatch') reason = 'wrong_order';
        continue;
      }
      const f = next.factors[i] as ModelFactor;
      Object.assign(f, { lastStep: pair.end - 1, drift: pair.drift, lastUsedAt: now });
      next.throttle.otp = fresh();
      const partial = clone(next);
      f.lastStep = pair.end;
      return {
        result: {
          ok: true,
          factorId: factor.id,
          drift: pair.drift,
          clockOffsetSeconds: pair.drift * (PERIOD_MS / 1000) + 0,
        },
        next,
        reserved,
        partial,
      };
    }
    if (reason === 'mismatch' && skewSeconds !== null) {
      return { result: { ok: false, reason: 'clock_skew', skewSeconds }, next, reserved };
    }
    return { result: { ok: false, reason }, next, reserved };
  }

  /** `canonical`: the code in canonical form, or null if it cannot be a recovery code. */
  useRecoveryCode(
    user: ModelUser,
    now: number,
    canonical: string | null,
    of: (code: string) => string | null,
  ): Outcome {
    if (user.factors.length === 0)
      return { result: { ok: false, reason: 'not_enrolled' }, next: user };
    if (canonical === null) return { result: { ok: false, reason: 'malformed' }, next: user };
    const next = clone(user);
    const refused = this.reserve(next, 'recovery', now, 1);
    if (refused) return { result: refused, next: user };
    const reserved = clone(next);
    const set = next.recovery;
    const index = set ? set.unused.findIndex((code) => of(code) === canonical) : -1;
    if (!set || index < 0) return { result: { ok: false, reason: 'mismatch' }, next, reserved };
    set.unused.splice(index, 1);
    next.throttle = { otp: fresh(), recovery: fresh() };
    return { result: { ok: true, remaining: remaining(next) }, next, reserved };
  }
}
