// A small reference model of the MFA service's rules, for the model-based
// fuzz test (test/mfa/model.test.ts). It is written from the documented rules
// (docs/enrollment.md, docs/security-model.md, DESIGN.md), not from the
// service's code: a code is looked up by generating the code of each step in
// the window, in the documented order; each accepted step must be newer than
// the last; one attempt is reserved before each check; failures back off and
// lock; recovery codes work once.
//
// Each call is a pure function from a model state to `{ result, next }`, and,
// for calls that reserve an attempt, `reserved`: the state with only the
// reservation made (what a store fault after the reservation leaves behind;
// for `unlock` of both scopes, the state after its first write).
//
// Factors are kept by id (`factors`), so that several factors per user can
// come without reshaping the model; today a user has at most one, `ACTIVE`.
import { generateTOTP } from '../../src/index.ts';
import type { AttemptPolicy } from '../../src/store/types.ts';

export const PERIOD_MS = 30_000;
/** The id under which today's single active factor is kept. */
export const ACTIVE = 'active';

export interface ModelPolicy {
  window: number;
  bindingWindow: number;
  maxDrift: number;
  pendingTtlMs: number;
  throttle: AttemptPolicy;
  recoveryThrottle: AttemptPolicy;
  recoveryCodeCount: number;
}

export interface Throttle {
  failures: number;
  blockedUntil: number;
}

export interface ModelFactor {
  secret: Uint8Array;
  lastStep: number;
  drift: number;
  activatedAt: number;
}

export interface ModelUser {
  pending: { secret: Uint8Array; expiresAt: number } | null;
  factors: Record<string, ModelFactor>;
  /** Unused codes the caller saw, and how many more unused codes exist that it never saw. */
  recovery: { unused: string[]; unseen: number } | null;
  throttle: { otp: Throttle; recovery: Throttle };
}

export const emptyUser = (): ModelUser => ({
  pending: null,
  factors: {},
  recovery: null,
  throttle: { otp: { failures: 0, blockedUntil: 0 }, recovery: { failures: 0, blockedUntil: 0 } },
});

export const clone = (user: ModelUser): ModelUser => structuredClone(user);

/** What a call returns: `result` to compare, `next` state, `reserved`: the state after its first write, if it makes two. */
export interface Outcome {
  result: unknown;
  next: ModelUser;
  reserved?: ModelUser;
  /** For a resync, the state after it claimed the first code's step only (its first write). */
  partial?: ModelUser;
}

export const stepOf = (now: number) => Math.floor(now / PERIOD_MS);
export const codeAt = (secret: Uint8Array, step: number) =>
  generateTOTP(secret, { now: step * PERIOD_MS });

/** The input as the service reads a typed code: NFKC, white space removed. */
const normalize = (code: string) =>
  code.length > 64 ? '' : code.normalize('NFKC').replace(/\s/g, '');
const isCode = (code: string) => /^[0-9]{6}$/.test(code);

function delayMs(policy: AttemptPolicy, failures: number): number {
  if (failures < policy.freeAttempts) return 0;
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failures - policy.freeAttempts));
}

/** RFC 4226 §7.3 throttling: reserve an attempt, or refuse with the reason. */
function reserve(
  user: ModelUser,
  scope: 'otp' | 'recovery',
  policy: AttemptPolicy,
  now: number,
): { ok: false; result: unknown } | { ok: true } {
  const state = user.throttle[scope];
  if (state.failures >= policy.maxFailures)
    return { ok: false, result: { ok: false, reason: 'locked' } };
  if (now < state.blockedUntil) {
    return {
      ok: false,
      result: { ok: false, reason: 'throttled', retryAfterMs: state.blockedUntil - now },
    };
  }
  state.failures += 1;
  state.blockedUntil = now + delayMs(policy, state.failures);
  return { ok: true };
}

const fresh = (): Throttle => ({ failures: 0, blockedUntil: 0 });

/** The steps of a window around `center`, in the documented order: 0, −1, +1, −2, +2, … */
function windowSteps(center: number, window: number): number[] {
  const steps = [center];
  for (let d = 1; d <= window; d++) steps.push(center - d, center + d);
  return steps;
}

/** A consecutive pair: `end` is the second code's step. */
function findPair(
  secret: Uint8Array,
  first: string,
  second: string,
  now: number,
  window: number,
  after: number,
): { ok: true; end: number; drift: number } | { ok: false; reason: string } {
  const current = stepOf(now);
  let replayed = false;
  let swapped = false;
  for (const end of windowSteps(current, window)) {
    if (end < 1) continue;
    const a = codeAt(secret, end - 1);
    const b = codeAt(secret, end);
    if (a === second && b === first) swapped = true;
    if (a !== first || b !== second) continue;
    // Both codes' steps must be newer than the last accepted one.
    if (end - 1 <= after) {
      replayed = true;
      continue;
    }
    const delta = end - current;
    return { ok: true, end, drift: delta >= 0 ? delta : delta + 1 };
  }
  return { ok: false, reason: replayed ? 'replayed' : swapped ? 'wrong_order' : 'mismatch' };
}

function pairProblem(first: string, second: string): string | null {
  if (!isCode(first) || !isCode(second)) return 'malformed';
  return first === second ? 'same_code' : null;
}

const primary = (user: ModelUser): ModelFactor | undefined => user.factors[ACTIVE];

export class Model {
  constructor(readonly policy: ModelPolicy) {}

  beginEnrollment(
    user: ModelUser,
    now: number,
    secret: Uint8Array,
    replaceActive: boolean,
  ): Outcome {
    if (primary(user) && !replaceActive) return { result: 'ERR_ALREADY_ENROLLED', next: user };
    const next = clone(user);
    next.pending = { secret, expiresAt: now + this.policy.pendingTtlMs };
    return { result: { expiresAt: next.pending.expiresAt }, next };
  }

  /** `codes`: the recovery codes the service issued, if it succeeded (the model cannot guess them). */
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
    const admitted = reserve(next, 'otp', this.policy.throttle, now);
    if (!admitted.ok) return { result: admitted.result, next: user };
    const reserved = clone(next);
    const pair = findPair(pending.secret, first, second, now, this.policy.bindingWindow, -1);
    if (!pair.ok) {
      const reason = pair.reason === 'replayed' ? 'mismatch' : pair.reason;
      return { result: { ok: false, reason }, next, reserved };
    }
    next.factors = {
      [ACTIVE]: { secret: pending.secret, lastStep: pair.end, drift: pair.drift, activatedAt: now },
    };
    next.pending = null;
    next.recovery = { unused: [...codes], unseen: 0 };
    next.throttle = { otp: fresh(), recovery: fresh() };
    return {
      result: { ok: true, recoveryCodes: this.policy.recoveryCodeCount },
      next,
      reserved,
    };
  }

  verify(user: ModelUser, now: number, code: string): Outcome {
    const input = normalize(code);
    const factor = primary(user);
    if (!factor) return { result: { ok: false, reason: 'not_enrolled' }, next: user };
    if (!isCode(input)) return { result: { ok: false, reason: 'malformed' }, next: user };
    const next = clone(user);
    const admitted = reserve(next, 'otp', this.policy.throttle, now);
    if (!admitted.ok) return { result: admitted.result, next: user };
    const reserved = clone(next);
    const current = stepOf(now);
    let replayed = false;
    for (const step of windowSteps(current + factor.drift, this.policy.window)) {
      if (step < 0 || codeAt(factor.secret, step) !== input) continue;
      if (step <= factor.lastStep) {
        replayed = true;
        continue;
      }
      const drift = step - current;
      if (Math.abs(drift) > Math.max(this.policy.maxDrift, Math.abs(factor.drift))) {
        return { result: { ok: false, reason: 'resync_required' }, next, reserved };
      }
      const f = primary(next) as ModelFactor;
      f.lastStep = step;
      f.drift = drift;
      next.throttle.otp = fresh();
      return { result: { ok: true }, next, reserved };
    }
    return { result: { ok: false, reason: replayed ? 'replayed' : 'mismatch' }, next, reserved };
  }

  resync(user: ModelUser, now: number, code1: string, code2: string): Outcome {
    const [first, second] = [normalize(code1), normalize(code2)];
    const factor = primary(user);
    if (!factor) return { result: { ok: false, reason: 'not_enrolled' }, next: user };
    const problem = pairProblem(first, second);
    if (problem) return { result: { ok: false, reason: problem }, next: user };
    const next = clone(user);
    const admitted = reserve(next, 'otp', this.policy.throttle, now);
    if (!admitted.ok) return { result: admitted.result, next: user };
    const reserved = clone(next);
    const pair = findPair(
      factor.secret,
      first,
      second,
      now,
      this.policy.bindingWindow,
      factor.lastStep,
    );
    if (!pair.ok) return { result: { ok: false, reason: pair.reason }, next, reserved };
    const f = primary(next) as ModelFactor;
    f.lastStep = pair.end - 1;
    f.drift = pair.drift;
    next.throttle.otp = fresh();
    const partial = clone(next);
    f.lastStep = pair.end;
    return { result: { ok: true, drift: pair.drift }, next, reserved, partial };
  }

  /** `canonical`: the code in canonical form, or null if it cannot be a recovery code. */
  useRecoveryCode(
    user: ModelUser,
    now: number,
    canonical: string | null,
    of: (code: string) => string | null,
  ): Outcome {
    if (!primary(user)) return { result: { ok: false, reason: 'not_enrolled' }, next: user };
    if (canonical === null) return { result: { ok: false, reason: 'malformed' }, next: user };
    const next = clone(user);
    const admitted = reserve(next, 'recovery', this.policy.recoveryThrottle, now);
    if (!admitted.ok) return { result: admitted.result, next: user };
    const reserved = clone(next);
    const set = next.recovery;
    const index = set ? set.unused.findIndex((code) => of(code) === canonical) : -1;
    if (!set || index < 0) return { result: { ok: false, reason: 'mismatch' }, next, reserved };
    set.unused.splice(index, 1);
    next.throttle = { otp: fresh(), recovery: fresh() };
    return {
      result: { ok: true, remaining: set.unused.length + set.unseen },
      next,
      reserved,
    };
  }

  regenerateRecoveryCodes(user: ModelUser, codes: readonly string[]): Outcome {
    if (!primary(user)) return { result: { ok: false, reason: 'not_enrolled' }, next: user };
    const next = clone(user);
    next.recovery = { unused: [...codes], unseen: 0 };
    return { result: { ok: true, recoveryCodes: this.policy.recoveryCodeCount }, next };
  }

  status(user: ModelUser, now: number): Outcome {
    const factor = primary(user);
    const pending = user.pending && user.pending.expiresAt > now ? user.pending : null;
    const { otp, recovery } = user.throttle;
    const result = {
      state: factor ? 'active' : pending ? 'pending' : 'none',
      activatedAt: factor?.activatedAt ?? null,
      pendingExpiresAt: pending?.expiresAt ?? null,
      recoveryCodesRemaining: factor ? remaining(user) : 0,
      drift: factor?.drift ?? null,
      locked: otp.failures >= this.policy.throttle.maxFailures,
      recoveryLocked: recovery.failures >= this.policy.recoveryThrottle.maxFailures,
      retryAfterMs: Math.max(0, otp.blockedUntil - now),
    };
    return { result, next: user };
  }

  disable(user: ModelUser): Outcome {
    const removed = Boolean(primary(user) || user.pending || user.recovery);
    const next = clone(user);
    next.factors = {};
    next.pending = null;
    next.recovery = null;
    return { result: removed, next };
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

  reencryptSecret(user: ModelUser): Outcome {
    // The test cipher always asks to be re-sealed.
    if (!primary(user)) return { result: { ok: false, reason: 'not_enrolled' }, next: user };
    return { result: { ok: true, reencrypted: true }, next: user };
  }
}

export function remaining(user: ModelUser): number {
  return user.recovery ? user.recovery.unused.length + user.recovery.unseen : 0;
}

/** The part of a user's state a store record shows, for comparing model and store. */
export interface Projection {
  pendingExpiresAt: number | null;
  factors: Record<string, { lastStep: number; drift: number }>;
  recoveryRemaining: number | null;
  otp: Throttle;
  recovery: Throttle;
}

export function project(user: ModelUser): Projection {
  const factors: Projection['factors'] = {};
  for (const [id, f] of Object.entries(user.factors))
    factors[id] = { lastStep: f.lastStep, drift: f.drift };
  return {
    pendingExpiresAt: user.pending?.expiresAt ?? null,
    factors,
    recoveryRemaining: user.recovery ? remaining(user) : null,
    otp: { ...user.throttle.otp },
    recovery: { ...user.throttle.recovery },
  };
}
