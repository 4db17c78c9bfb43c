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
import { generateTOTP } from '../../src/index.ts';
import type { AttemptPolicy } from '../../src/store/contract.ts';
import { emptyAccount, type ModelAccount } from './account-model.ts';

export const PERIOD_MS = 30_000;

export interface ModelPolicy {
  window: number;
  bindingWindow: number;
  maxDrift: number;
  maxFactors: number;
  pendingTtlMs: number;
  throttle: AttemptPolicy;
  recoveryThrottle: AttemptPolicy;
  recoveryCodeCount: number;
  erasureGuardMs: number;
}

export interface Throttle {
  failures: number;
  guesses: number;
  blockedUntil: number;
}

export interface ModelFactor {
  id: string;
  name: string;
  secret: Uint8Array;
  lastStep: number;
  drift: number;
  createdAt: number;
  activatedAt: number;
  lastUsedAt: number | null;
}

export interface ModelPending {
  id: string;
  name: string;
  secret: Uint8Array;
  createdAt: number;
  expiresAt: number;
  replaceFactorId: string | null;
  /** The enrollment this one replaced while it was unexpired (issue 12: stale_qr), or null. */
  previous: { id: string; secret: Uint8Array; expiresAt: number } | null;
}

/** Steps searched each side for a skewed clock: the default, one day of 30 s steps. */
export const SKEW_SEARCH = 2880;

export interface ModelUser {
  pending: ModelPending | null;
  /** In createdAt order (then id), as listFactors returns them. */
  factors: ModelFactor[];
  /** Unused codes the caller saw, and how many more unused codes exist that it never saw. */
  recovery: { unused: string[]; unseen: number } | null;
  throttle: { otp: Throttle; recovery: Throttle };
  /** Until when no call may create state, after deleteUserData; `null` if never erased. */
  erasedUntil: number | null;
  /** Issues 20 and 21: generation, codes, budgets, sends, proofs, devices (test/helpers/account-model.ts). */
  account: ModelAccount;
}

export const emptyUser = (): ModelUser => ({
  pending: null,
  factors: [],
  recovery: null,
  throttle: { otp: fresh(), recovery: fresh() },
  erasedUntil: null,
  account: emptyAccount(),
});

export const clone = (user: ModelUser): ModelUser => structuredClone(user);

/** What a call returns: `result` to compare, `next` state, and the states after a first write. */
export interface Outcome {
  result: unknown;
  next: ModelUser;
  /** The state with only the attempt reserved (or, for unlock of both scopes, the first reset). */
  reserved?: ModelUser;
  /** For a resync, the state after it claimed the first code's step only (its second write). */
  partial?: ModelUser;
}

export const stepOf = (now: number) => Math.floor(now / PERIOD_MS);
const codeCache = new Map<string, string>();
/** The code of `step` (memoised: the skew search asks for thousands of steps per call). */
export const codeAt = (secret: Uint8Array, step: number) => {
  const key = `${Buffer.from(secret).toString('hex')}:${step}`;
  let code = codeCache.get(key);
  if (code === undefined) {
    if (codeCache.size > 2_000_000) codeCache.clear();
    code = generateTOTP(secret, { now: step * PERIOD_MS });
    codeCache.set(key, code);
  }
  return code;
};

/** The input as the service reads a typed code: NFKC, white space removed. */
const normalize = (code: string) =>
  code.length > 64 ? '' : code.normalize('NFKC').replace(/\s/g, '');
const isCode = (code: string) => /^[0-9]{6}$/.test(code);
/** Names are unique per user after NFKC and case folding. */
export const nameKey = (name: string) => name.normalize('NFKC').toUpperCase().toLowerCase();

function delayMs(policy: AttemptPolicy, failures: number): number {
  if (failures < policy.freeAttempts) return 0;
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failures - policy.freeAttempts));
}

function fresh(): Throttle {
  return { failures: 0, guesses: 0, blockedUntil: 0 };
}

/** The documented order of factors: createdAt, then id. */
function order(factors: ModelFactor[]): ModelFactor[] {
  return factors.sort(
    (a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

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

/** Whether `first`, `second` are the codes of two consecutive steps ending within `window` of now. */
function pairInWindow(
  secret: Uint8Array,
  first: string,
  second: string,
  now: number,
  window: number,
): boolean {
  const current = stepOf(now);
  for (let end = Math.max(1, current - window); end <= current + window; end++) {
    if (codeAt(secret, end - 1) === first && codeAt(secret, end) === second) return true;
  }
  return false;
}

/**
 * The device clock's offset in seconds if `first`, `second` are two
 * consecutive codes within SKEW_SEARCH steps of now (the nearest, the
 * earlier on a tie), counted as the binding's drift is; else null.
 */
function skewOf(secret: Uint8Array, first: string, second: string, now: number): number | null {
  const current = stepOf(now);
  for (let d = 0; d <= SKEW_SEARCH; d++) {
    for (const end of d === 0 ? [current] : [current - d, current + d]) {
      if (end < 1) continue;
      if (codeAt(secret, end - 1) === first && codeAt(secret, end) === second) {
        const delta = end - current;
        return (delta >= 0 ? delta : delta + 1) * (PERIOD_MS / 1000);
      }
    }
  }
  return null;
}

function pairProblem(first: string, second: string): string | null {
  if (!isCode(first) || !isCode(second)) return 'malformed';
  return first === second ? 'same_code' : null;
}

/** The first free default name: "Authenticator", then "Authenticator 2", … */
function defaultName(factors: ModelFactor[]): string {
  const taken = new Set(factors.map((f) => nameKey(f.name)));
  for (let n = 1; ; n++) {
    const name = n === 1 ? 'Authenticator' : `Authenticator ${n}`;
    if (!taken.has(nameKey(name))) return name;
  }
}

export class Model {
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

export function remaining(user: ModelUser): number {
  return user.recovery ? user.recovery.unused.length + user.recovery.unseen : 0;
}

/** The part of a user's state a store record shows, for comparing model and store. */
export interface Projection {
  pending: {
    id: string;
    name: string;
    expiresAt: number;
    replaceFactorId: string | null;
    /** The replaced enrollment kept for stale_qr: its id and expiry. */
    previous: { id: string; expiresAt: number } | null;
  } | null;
  factors: {
    id: string;
    name: string;
    lastStep: number;
    drift: number;
    createdAt: number;
    activatedAt: number;
    lastUsedAt: number | null;
  }[];
  recoveryRemaining: number | null;
  otp: Throttle;
  recovery: Throttle;
}

export function project(user: ModelUser): Projection {
  const p = user.pending;
  return {
    pending: p
      ? {
          id: p.id,
          name: p.name,
          expiresAt: p.expiresAt,
          replaceFactorId: p.replaceFactorId,
          previous: p.previous ? { id: p.previous.id, expiresAt: p.previous.expiresAt } : null,
        }
      : null,
    factors: user.factors.map(
      ({ id, name, lastStep, drift, createdAt, activatedAt, lastUsedAt }) => ({
        id,
        name,
        lastStep,
        drift,
        createdAt,
        activatedAt,
        lastUsedAt,
      }),
    ),
    recoveryRemaining: user.recovery ? remaining(user) : null,
    otp: { ...user.throttle.otp },
    recovery: { ...user.throttle.recovery },
  };
}
