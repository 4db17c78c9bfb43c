/**
 * The rules of out-of-band verification codes and of proofs, with their
 * documented defaults and bounds: `policy.verificationCodes` and
 * `policy.proofs` of {@link createMFA}. The flows that apply them are
 * `verification.ts` and `proofs.ts`.
 * @module
 */
import { checkInteger, checkOptions, describe } from '../_assert.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/**
 * How verification codes are made, how long they live, and how many attempts
 * and sends a user gets. Send windows last 24 hours from the first send in
 * the window.
 */
export interface VerificationCodePolicy {
  /** Digits per code, 6 to 10. */
  readonly length: number;
  /** How long a code passes after it was sent, in ms: 1 minute to 1 hour. */
  readonly ttlMs: number;
  /** Attempts against one code before it is removed, 1 to 10. */
  readonly maxAttemptsPerCode: number;
  /**
   * Attempts, right or wrong, per user and purpose per window, 1 to 100. No
   * new code and no success resets it: only the end of the window does.
   */
  readonly budget: number;
  /** The budget's window, in ms: 1 hour to 7 days. */
  readonly budgetWindowMs: number;
  /** Time between two sends to the same destination, in ms: 0 to 1 hour. */
  readonly resendCooldownMs: number;
  /** Sends per destination (of one user) per 24 hours, 1 to 1000. */
  readonly dailyLimitPerDestination: number;
  /** Sends per user per 24 hours, whatever the destination, 1 to 1000. */
  readonly dailyLimitPerUser: number;
}

/** What a sensitive call needs, per purpose: see {@link ProofPolicy.required}. */
export type ProofRequirement = 'seed' | 'any' | 'none';

/** The library's purposes: the sensitive calls that take a `proof`. */
export type SensitivePurpose =
  'enroll' | 'replace_factor' | 'remove_factor' | 'regenerate_recovery_codes' | 'disable';

/** The library's purposes, in a fixed order. */
export const SENSITIVE_PURPOSES: readonly SensitivePurpose[] = Object.freeze([
  'enroll',
  'replace_factor',
  'remove_factor',
  'regenerate_recovery_codes',
  'disable',
]);

/** Which proof each sensitive call needs, and how long proofs live. */
export interface ProofPolicy {
  /**
   * Per sensitive call (`'enroll'`: `beginEnrollment`; `'replace_factor'`:
   * `beginEnrollment` with `replaceFactorId`; `'remove_factor'`;
   * `'regenerate_recovery_codes'`; `'disable'`):
   *
   * - `'seed'` (the default): while the user has no active factor, a proof of
   *   any kind (a verification code's, for a first enrollment); once they
   *   have one, only a proof from a current factor (`verify` or
   *   `useRecoveryCode` with `proofFor`). A verification code alone then
   *   never suffices.
   * - `'any'`: a proof of any kind, factor or not. A mailbox or phone number
   *   then suffices to change a factor: the app takes that on.
   * - `'none'`: no proof needed (0.2's behaviour). A proof passed anyway is
   *   still checked and consumed. Whoever holds the session then can change
   *   factors: the app takes that on.
   */
  readonly required: Readonly<Record<SensitivePurpose, ProofRequirement>>;
  /** How long a proof lives, in ms: 1 minute to 1 hour. */
  readonly ttlMs: number;
}

/** Overrides of {@link ProofPolicy}; `required` is merged per purpose. */
export interface ProofPolicyOptions {
  /** See {@link ProofPolicy.required}. */
  required?: Partial<Record<SensitivePurpose, ProofRequirement>>;
  /** See {@link ProofPolicy.ttlMs}. */
  ttlMs?: number;
}

/**
 * The defaults: 6-digit codes living 10 minutes, 5 attempts per code, a
 * budget of 20 attempts per user and purpose per 24 hours (so a guesser's
 * odds are at most 20 × 10^-6 per purpose per day), a 60 s resend cooldown
 * per destination, and at most 10 sends per destination and 20 per user per
 * 24 hours.
 */
export const DEFAULT_VERIFICATION_CODE_POLICY: VerificationCodePolicy = Object.freeze({
  length: 6,
  ttlMs: 10 * MINUTE_MS,
  maxAttemptsPerCode: 5,
  budget: 20,
  budgetWindowMs: DAY_MS,
  resendCooldownMs: MINUTE_MS,
  dailyLimitPerDestination: 10,
  dailyLimitPerUser: 20,
});

/** The defaults: `'seed'` for every sensitive call, proofs living 10 minutes. */
export const DEFAULT_PROOF_POLICY: ProofPolicy = Object.freeze({
  required: Object.freeze({
    enroll: 'seed',
    replace_factor: 'seed',
    remove_factor: 'seed',
    regenerate_recovery_codes: 'seed',
    disable: 'seed',
  }),
  ttlMs: 10 * MINUTE_MS,
});

/** The window of the send caps: 24 hours from the first send in it. */
export const SEND_WINDOW_MS = DAY_MS;

/** Checks `policy.verificationCodes` and merges it into the defaults (internal). */
export function resolveVerificationCodePolicy(options: unknown): VerificationCodePolicy {
  const field = 'policy.verificationCodes';
  const o = {
    ...DEFAULT_VERIFICATION_CODE_POLICY,
    ...checkOptions(options as Partial<VerificationCodePolicy> | undefined, field),
  };
  return Object.freeze({
    length: checkInteger(o.length, `${field}.length`, 6, 10),
    ttlMs: checkInteger(o.ttlMs, `${field}.ttlMs`, MINUTE_MS, HOUR_MS),
    maxAttemptsPerCode: checkInteger(o.maxAttemptsPerCode, `${field}.maxAttemptsPerCode`, 1, 10),
    budget: checkInteger(o.budget, `${field}.budget`, 1, 100),
    budgetWindowMs: checkInteger(o.budgetWindowMs, `${field}.budgetWindowMs`, HOUR_MS, 7 * DAY_MS),
    resendCooldownMs: checkInteger(o.resendCooldownMs, `${field}.resendCooldownMs`, 0, HOUR_MS),
    dailyLimitPerDestination: checkInteger(
      o.dailyLimitPerDestination,
      `${field}.dailyLimitPerDestination`,
      1,
      1000,
    ),
    dailyLimitPerUser: checkInteger(o.dailyLimitPerUser, `${field}.dailyLimitPerUser`, 1, 1000),
  });
}

/** Checks `policy.proofs` and merges it into the defaults (internal). */
export function resolveProofPolicy(options: unknown): ProofPolicy {
  const field = 'policy.proofs';
  const o = checkOptions(options as ProofPolicyOptions | undefined, field);
  const given = checkOptions(o.required, `${field}.required`);
  for (const key of Object.keys(given)) {
    if (!(SENSITIVE_PURPOSES as readonly string[]).includes(key)) {
      throw new RangeError(
        `"${field}.required" has an unknown purpose; expected ${SENSITIVE_PURPOSES.join(', ')}`,
      );
    }
  }
  const required = {} as Record<SensitivePurpose, ProofRequirement>;
  for (const purpose of SENSITIVE_PURPOSES) {
    const value: unknown = given[purpose] ?? DEFAULT_PROOF_POLICY.required[purpose];
    if (value !== 'seed' && value !== 'any' && value !== 'none') {
      throw new RangeError(
        `"${field}.required.${purpose}" must be 'seed', 'any' or 'none', got ${describe(value)}`,
      );
    }
    required[purpose] = value;
  }
  return Object.freeze({
    required: Object.freeze(required),
    ttlMs: checkInteger(
      o.ttlMs ?? DEFAULT_PROOF_POLICY.ttlMs,
      `${field}.ttlMs`,
      MINUTE_MS,
      HOUR_MS,
    ),
  });
}
