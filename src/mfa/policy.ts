/**
 * The service's rules: windows, drift, enrollment lifetime, throttling and
 * recovery codes, with documented defaults.
 * @module
 */
import { checkInteger, checkOptions, describe } from '../_assert.ts';
import type { AttemptPolicy } from '../store/contract.ts';
import { MAX_SKEW_STEPS, type MAX_DIAGNOSIS_WORK } from '../diagnose.ts';
import { MAX_WINDOW } from '../totp.ts';
import {
  DEFAULT_PROOF_POLICY,
  DEFAULT_VERIFICATION_CODE_POLICY,
  resolveProofPolicy,
  resolveVerificationCodePolicy,
  type ProofPolicy,
  type ProofPolicyOptions,
  type VerificationCodePolicy,
} from './account-policy.ts';

/** scrypt cost parameters (RFC 7914) for recovery code hashes. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two from 2^10 to 2^20. */
  N: number;
  /** Block size, 1 to 32. Memory per evaluation is 128 · N · r bytes. */
  r: number;
  /** Parallelisation, 1 to 16. */
  p: number;
}

/** The complete rules of an MFA service; see {@link DEFAULT_MFA_POLICY}. */
export interface MFAPolicy {
  /** Steps accepted on each side of `now + drift` at login, 0 to 10. */
  readonly window: number;
  /** Steps on each side of now searched for the two codes of a binding or resync, 1 to 100. */
  readonly bindingWindow: number;
  /**
   * How far, in steps, `verify` follows a drifting device clock by itself,
   * 0 to 100. A correct code that would move the estimate beyond this (and
   * beyond the last bound or resynced offset) is refused with
   * `'resync_required'`.
   */
  readonly maxDrift: number;
  /** Lifetime of a pending enrollment in ms, 1 minute to 1 day. */
  readonly pendingTtlMs: number;
  /** Active factors (authenticators) a user may have, 1 to 20. */
  readonly maxFactors: number;
  /** Throttling of TOTP codes (login, binding, resync), one budget per user. */
  readonly throttle: Readonly<AttemptPolicy>;
  /** Throttling of recovery codes, a separate budget so a locked user can still recover. */
  readonly recoveryThrottle: Readonly<AttemptPolicy>;
  /** Recovery codes issued per set, 1 to 100. */
  readonly recoveryCodeCount: number;
  /** scrypt parameters for new recovery code sets (stored with each set). */
  readonly recoveryCodeScrypt: Readonly<ScryptParams>;
  /**
   * How far the diagnosis of refused binding and resync codes searches for a
   * skewed device clock, in steps of the factor's own period, each side of
   * now, 0 to 200,000 (0: no further than `bindingWindow`). `null`, the
   * default, means one day for every period: `ceil(86400 / period)` steps,
   * 2880 for 30 s, 1440 for 60 s. A number is used as it is for every
   * period, so the time it covers is that number times the period. Whatever
   * this is, one refused pair's search computes at most
   * {@link MAX_DIAGNOSIS_WORK} codes, shared by all the factors it searches,
   * and yields to the event loop between slices of 1,024.
   */
  readonly skewSearch: number | null;
  /**
   * Whether `completeEnrollment` binds a factor with the parameters the
   * user's app actually used (SHA1/6/30, or the requested ones with one
   * dropped) when the codes match the secret under those inside
   * `bindingWindow`. Default `false`: such codes are refused as
   * `'app_ignored_parameters'`. The result's `parameters` says what was bound.
   */
  readonly acceptAppParameters: boolean;
  /**
   * How long, in ms, after `deleteUserData` no call can create state for
   * that user id again: 1 minute to 7 days, default 1 hour. Calls still in
   * flight when the data was erased, and new ones in that time, that would
   * write get `MFAError('ERR_ERASED')` and write nothing. Longer than any
   * call can take (a call in flight for longer is the stated limit); shorter
   * than the time after which an erased id may be enrolled again.
   */
  readonly erasureGuardMs: number;
  /** Out-of-band verification codes: see {@link VerificationCodePolicy} for bounds and defaults. */
  readonly verificationCodes: VerificationCodePolicy;
  /** Which proof each sensitive call needs: see {@link ProofPolicy}. */
  readonly proofs: ProofPolicy;
  /** Remembered devices ("remember this device for 30 days"); see {@link RememberedDevicesPolicy}. */
  readonly rememberedDevices: Readonly<RememberedDevicesPolicy>;
}

/**
 * The rules of remembered devices: how many a user may have and how long a
 * token lasts. The lifetime is absolute: using a device never extends it.
 */
export interface RememberedDevicesPolicy {
  /** Remembered devices per user, 1 to 100; issuing one more drops the oldest. Default 10. */
  max: number;
  /** Lifetime of a device token in ms, 1 hour to 400 days. Default 30 days. */
  ttlMs: number;
}

/** Overrides for {@link DEFAULT_MFA_POLICY}; nested objects are merged field by field. */
export interface MFAPolicyOptions {
  /** See {@link MFAPolicy.window}. */
  window?: number;
  /** See {@link MFAPolicy.bindingWindow}. */
  bindingWindow?: number;
  /** See {@link MFAPolicy.maxDrift}. */
  maxDrift?: number;
  /** See {@link MFAPolicy.pendingTtlMs}. */
  pendingTtlMs?: number;
  /** See {@link MFAPolicy.maxFactors}. */
  maxFactors?: number;
  /** See {@link MFAPolicy.throttle}. */
  throttle?: Partial<AttemptPolicy>;
  /** See {@link MFAPolicy.recoveryThrottle}. */
  recoveryThrottle?: Partial<AttemptPolicy>;
  /** See {@link MFAPolicy.recoveryCodeCount}. */
  recoveryCodeCount?: number;
  /** See {@link MFAPolicy.recoveryCodeScrypt}. */
  recoveryCodeScrypt?: Partial<ScryptParams>;
  /** See {@link MFAPolicy.skewSearch}. */
  skewSearch?: number | null;
  /** See {@link MFAPolicy.acceptAppParameters}. */
  acceptAppParameters?: boolean;
  /** See {@link MFAPolicy.erasureGuardMs}. */
  erasureGuardMs?: number;
  /** See {@link MFAPolicy.verificationCodes}; merged field by field. */
  verificationCodes?: Partial<VerificationCodePolicy>;
  /** See {@link MFAPolicy.proofs}; `required` is merged per purpose. */
  proofs?: ProofPolicyOptions;
  /** See {@link MFAPolicy.rememberedDevices}. */
  rememberedDevices?: Partial<RememberedDevicesPolicy>;
}

const THROTTLE: Readonly<AttemptPolicy> = Object.freeze({
  freeAttempts: 5,
  baseDelayMs: 1_000,
  maxDelayMs: 15 * 60_000,
  maxFailures: 100,
});

/**
 * The defaults:
 *
 * - `window` 1: the previous, current and next code (30 s either side), so a
 *   guess has a 3 in 10^6 chance with 6 digits.
 * - `bindingWindow` 10 (±5 minutes at 30 s steps), `maxDrift` 4 (2 minutes).
 * - `pendingTtlMs` 10 minutes.
 * - `maxFactors` 5 authenticators per user.
 * - `throttle` and `recoveryThrottle`: 5 attempts back to back, then a delay
 *   of 1 s doubling with each failure up to 15 minutes, and a lock after 100
 *   consecutive failures (NIST SP 800-63B's ceiling). Reaching the lock takes
 *   about 21 hours of continuous guessing; with 6 digits and window 1 the
 *   chance that 100 guesses find a code is about 3 in 10,000. Each TOTP
 *   attempt is charged one guess per factor its code is compared with, so a
 *   user with `n` factors is locked after `ceil(100 / n)` failures, and
 *   those odds do not grow with the number of factors, nor with factors
 *   removed or added during a lock cycle.
 * - 10 recovery codes of 60 bits, hashed with scrypt N = 2^11, r = 8, p = 1
 *   (2 MiB per evaluation). The codes are random, not chosen by people, so
 *   the KDF need not make up for a small search space as with passwords: an
 *   attacker holding the database still needs about 2^56 evaluations (60 bits,
 *   ten codes per salt) to find one. At this cost an enrollment hashes ten
 *   codes in well under 300 ms even with the pure-JavaScript fallback of
 *   browsers and Workers, and a recovery attempt costs one evaluation. Sets
 *   keep the parameters they were made with: those of 0.1.0 (N = 2^14) still
 *   verify.
 *
 * - `skewSearch` `null`: refused binding codes are searched for a clock
 *   skewed up to one day either way; `acceptAppParameters` `false`.
 * - `erasureGuardMs` 1 hour: after `deleteUserData`, no call creates state
 *   for that user id for an hour.
 * - `verificationCodes`: 6 digits, 10 minutes, 5 attempts per code, 20 per
 *   user and purpose per 24 hours, a 60 s resend cooldown, 10 sends per
 *   destination and 20 per user per 24 hours
 *   ({@link DEFAULT_VERIFICATION_CODE_POLICY}).
 * - `proofs`: `'seed'` for every sensitive call, proofs living 10 minutes
 *   ({@link DEFAULT_PROOF_POLICY}).
 * - `rememberedDevices`: at most 10 per user (the oldest dropped), each
 *   valid for 30 days from the sign-in that issued it, never extended.
 *
 * Deeply frozen. Override fields through `createMFA({ policy })`.
 *
 * @example
 * ```ts fragment
 * import { createMFA, DEFAULT_MFA_POLICY } from 'totpkit';
 * const mfa = createMFA({
 *   store, issuer: 'Acme', cipher,
 *   policy: { throttle: { maxFailures: 20 } }, // the other throttle fields stay default
 * });
 * DEFAULT_MFA_POLICY.throttle.maxFailures; // 100
 * ```
 */
export const DEFAULT_MFA_POLICY: MFAPolicy = Object.freeze({
  window: 1,
  bindingWindow: 10,
  maxDrift: 4,
  pendingTtlMs: 10 * 60_000,
  maxFactors: 5,
  throttle: THROTTLE,
  recoveryThrottle: THROTTLE,
  recoveryCodeCount: 10,
  recoveryCodeScrypt: Object.freeze({ N: 2 ** 11, r: 8, p: 1 }),
  skewSearch: null,
  acceptAppParameters: false,
  erasureGuardMs: 60 * 60_000,
  verificationCodes: DEFAULT_VERIFICATION_CODE_POLICY,
  proofs: DEFAULT_PROOF_POLICY,
  rememberedDevices: Object.freeze({ max: 10, ttlMs: 30 * 86_400_000 }),
});

const DAY_MS = 86_400_000;

function checkAttemptPolicy(
  options: Partial<AttemptPolicy> | undefined,
  defaults: Readonly<AttemptPolicy>,
  field: string,
): Readonly<AttemptPolicy> {
  const { freeAttempts, baseDelayMs, maxDelayMs, maxFailures } = {
    ...defaults,
    ...checkOptions(options, field),
  };
  // NIST SP 800-63B §5.2.2: at most 100 consecutive failed attempts.
  checkInteger(maxFailures, `${field}.maxFailures`, 1, 100);
  checkInteger(freeAttempts, `${field}.freeAttempts`, 0, 100);
  checkInteger(baseDelayMs, `${field}.baseDelayMs`, 0, DAY_MS);
  checkInteger(maxDelayMs, `${field}.maxDelayMs`, baseDelayMs, DAY_MS);
  return Object.freeze({ freeAttempts, baseDelayMs, maxDelayMs, maxFailures });
}

function checkBoolean(value: unknown): boolean {
  if (typeof value !== 'boolean') {
    throw new TypeError(`"policy.acceptAppParameters" must be a boolean, got ${describe(value)}`);
  }
  return value;
}

/**
 * The steps each side of now that the diagnosis searches for a skewed clock
 * of a factor with step `period` (internal).
 * @internal
 */
export function skewSearchSteps(policy: MFAPolicy, period: number): number {
  return policy.skewSearch ?? Math.ceil(86_400 / period);
}

function checkRememberedDevices(
  options: Partial<RememberedDevicesPolicy> | undefined,
): Readonly<RememberedDevicesPolicy> {
  const field = 'policy.rememberedDevices';
  const { max, ttlMs } = {
    ...DEFAULT_MFA_POLICY.rememberedDevices,
    ...checkOptions(options, field),
  };
  checkInteger(max, `${field}.max`, 1, 100);
  checkInteger(ttlMs, `${field}.ttlMs`, 3_600_000, 400 * DAY_MS);
  return Object.freeze({ max, ttlMs });
}

function checkScrypt(options: Partial<ScryptParams> | undefined): Readonly<ScryptParams> {
  const field = 'policy.recoveryCodeScrypt';
  const { N, r, p } = { ...DEFAULT_MFA_POLICY.recoveryCodeScrypt, ...checkOptions(options, field) };
  checkInteger(N, `${field}.N`, 2 ** 10, 2 ** 20);
  if (!Number.isInteger(Math.log2(N))) {
    throw new RangeError(`"${field}.N" must be a power of two, got ${describe(N)}`);
  }
  checkInteger(r, `${field}.r`, 1, 32);
  checkInteger(p, `${field}.p`, 1, 16);
  if (128 * N * r > 256 * 2 ** 20) {
    throw new RangeError(`"${field}" must need at most 256 MiB (128 · N · r bytes)`);
  }
  return Object.freeze({ N, r, p });
}

/**
 * Merges options into the defaults and validates the result (internal).
 * @internal
 */
export function resolvePolicy(options: MFAPolicyOptions | undefined): MFAPolicy {
  const o = checkOptions(options, 'policy');
  const d = DEFAULT_MFA_POLICY;
  return Object.freeze({
    window: checkInteger(o.window ?? d.window, 'policy.window', 0, 10),
    bindingWindow: checkInteger(
      o.bindingWindow ?? d.bindingWindow,
      'policy.bindingWindow',
      1,
      MAX_WINDOW,
    ),
    maxDrift: checkInteger(o.maxDrift ?? d.maxDrift, 'policy.maxDrift', 0, MAX_WINDOW),
    pendingTtlMs: checkInteger(
      o.pendingTtlMs ?? d.pendingTtlMs,
      'policy.pendingTtlMs',
      60_000,
      DAY_MS,
    ),
    maxFactors: checkInteger(o.maxFactors ?? d.maxFactors, 'policy.maxFactors', 1, 20),
    throttle: checkAttemptPolicy(o.throttle, d.throttle, 'policy.throttle'),
    recoveryThrottle: checkAttemptPolicy(
      o.recoveryThrottle,
      d.recoveryThrottle,
      'policy.recoveryThrottle',
    ),
    recoveryCodeCount: checkInteger(
      o.recoveryCodeCount ?? d.recoveryCodeCount,
      'policy.recoveryCodeCount',
      1,
      100,
    ),
    recoveryCodeScrypt: checkScrypt(o.recoveryCodeScrypt),
    skewSearch:
      o.skewSearch === undefined || o.skewSearch === null
        ? d.skewSearch
        : checkInteger(o.skewSearch, 'policy.skewSearch', 0, MAX_SKEW_STEPS),
    acceptAppParameters: checkBoolean(o.acceptAppParameters ?? d.acceptAppParameters),
    erasureGuardMs: checkInteger(
      o.erasureGuardMs ?? d.erasureGuardMs,
      'policy.erasureGuardMs',
      60_000,
      7 * DAY_MS,
    ),
    verificationCodes: resolveVerificationCodePolicy(o.verificationCodes),
    proofs: resolveProofPolicy(o.proofs),
    rememberedDevices: checkRememberedDevices(o.rememberedDevices),
  });
}
