/**
 * The model test's configuration and its steps (test/helpers/model-run.ts
 * runs them): the policy, the calls a step can make with their kinds of
 * codes, and the fast-check arbitraries of sequential calls, parallel calls,
 * races, clock moves and device drift.
 */
import fc from 'fast-check';
import type { ModelPolicy } from './mfa-model.ts';
import {
  accountCall,
  accountParallelCall,
  flowSteps,
  proofFor,
  proofPick,
  purpose,
} from './model-account-steps.ts';

export { purposes } from './model-account-steps.ts';

export const POLICY: ModelPolicy = {
  window: 1,
  bindingWindow: 3,
  maxDrift: 2,
  // Few factors, so that the limit is reached; 6 failures lock 1 factor, 3 lock 2, 2 lock 3.
  maxFactors: 3,
  pendingTtlMs: 120_000,
  // Small budgets, so that back-off and locks happen within a few steps.
  throttle: { freeAttempts: 2, baseDelayMs: 1_000, maxDelayMs: 60_000, maxFailures: 6 },
  recoveryThrottle: { freeAttempts: 1, baseDelayMs: 500, maxDelayMs: 10_000, maxFailures: 3 },
  recoveryCodeCount: 3,
  // Short enough that runs see it end (the clock moves up to 16 minutes a step).
  erasureGuardMs: 5 * 60_000,
};
/**
 * Issues 20 and 21, small enough that runs reach every limit: 1 attempt per
 * code, 3 per purpose in an hour, a 30 s resend cooldown, 2 sends per
 * destination and 3 per user a day, proofs for 70 s, 2 devices for an hour.
 */
export const ACCOUNT_POLICY = {
  codes: {
    length: 6,
    ttlMs: 90_000,
    maxAttemptsPerCode: 1,
    budget: 3,
    budgetWindowMs: 3_600_000,
    resendCooldownMs: 30_000,
    dailyLimitPerDestination: 2,
    dailyLimitPerUser: 3,
  },
  proofTtlMs: 70_000,
  devices: { max: 2, ttlMs: 3_600_000 },
};
export const CHEAP_SCRYPT = { N: 1024, r: 1, p: 1 };
export const USERS = 2;
export const T0 = 1_750_000_020_000;

export const RUNS = process.env.TOTPKIT_FUZZ_RUNS
  ? Number(process.env.TOTPKIT_FUZZ_RUNS)
  : undefined;
export const SEED = Number(process.env.TOTPKIT_FUZZ_SEED ?? 20_261_130);
export const SECONDS = process.env.TOTPKIT_FUZZ_SECONDS
  ? Number(process.env.TOTPKIT_FUZZ_SECONDS)
  : undefined;

export type CodeKind = 'now' | 'next' | 'prev' | 'far' | 'last' | 'spaced' | 'random' | 'malformed';
export type PairKind =
  | 'now'
  | 'ahead'
  | 'behind'
  | 'swapped'
  | 'same'
  | 'replay'
  | 'random'
  | 'malformed'
  // Issue 12: a clock hours off, the replaced enrollment's codes, another factor's codes.
  | 'far'
  | 'stale'
  | 'factor';
export type RecoveryKind = 'unused' | 'lower' | 'used' | 'old' | 'random' | 'malformed';
/** A factor of the user by index (modulo their count), or 3: an id the user does not have. */
export type FactorPick = number;
/** A name to ask for: undefined takes the default ("Authenticator", "Authenticator 2", …). */
export type NamePick = string | undefined;
export type SecretKind = 'fresh' | 'weak' | 'same';

/** A purpose: the library's five, or an app's own. */
export type Purpose =
  | 'enroll'
  | 'replace_factor'
  | 'remove_factor'
  | 'regenerate_recovery_codes'
  | 'disable'
  | 'export_data';
/**
 * The proof a sensitive call passes: 'match' a live one of its purpose (none
 * if there is none), 'verification' a live verification-code one of its
 * purpose, 'other' a live one of another purpose, 'expired' an expired one
 * of its purpose, 'none' no proof, 'any' any token the user was given
 * (used, expired, of another purpose or kind), 'bogus' one never issued.
 */
export type ProofPick = 'match' | 'verification' | 'other' | 'expired' | 'none' | 'any' | 'bogus';
/** A verification code to check: the one sent, a wrong one, a malformed one, or the one sent for another purpose. */
export type VCodeKind = 'right' | 'wrong' | 'malformed' | 'other';

export type Call =
  | { m: 'begin'; name: NamePick; replace: FactorPick | null; proof?: ProofPick }
  | { m: 'complete'; pair: PairKind }
  | {
      m: 'verify';
      code: CodeKind;
      f: FactorPick;
      proofFor?: Purpose | undefined;
      remember?: boolean;
    }
  | { m: 'resync'; pair: PairKind; f: FactorPick }
  | { m: 'recovery'; code: RecoveryKind; pick: number; proofFor?: Purpose | undefined }
  | { m: 'regenerate'; proof?: ProofPick }
  | { m: 'status' }
  | { m: 'list' }
  | { m: 'rename'; f: FactorPick; name: string }
  | { m: 'remove'; f: FactorPick; proof?: ProofPick }
  | {
      m: 'import';
      secret: SecretKind;
      f: FactorPick;
      name: NamePick;
      // 'default': no lastStep given (the import's step + policy.window); 'none': -1.
      lastStep: 'default' | 'none' | 'now';
      codes: boolean;
    }
  | { m: 'disable'; proof?: ProofPick }
  | { m: 'erase' }
  | { m: 'unlock'; scope: 'otp' | 'recovery' | undefined }
  | { m: 'reencrypt' }
  // Issues 20 and 21 (test/helpers/model-account.ts runs them).
  | { m: 'send'; channel: 'email' | 'sms'; dest: number; purpose: Purpose; fail: boolean }
  | { m: 'check'; code: VCodeKind; purpose: Purpose; dest: 'none' | 'same' | 'other' }
  | { m: 'useProof'; proof: ProofPick; purpose: Purpose }
  | { m: 'pendingEnrollment' }
  | { m: 'checkDevice'; pick: number; other: boolean }
  | { m: 'listDevices' }
  | { m: 'forgetDevice'; pick: number }
  | { m: 'forgetDevices' }
  | { m: 'adminReset' };

export type Step =
  | { kind: 'advance'; ms: number }
  | { kind: 'drift'; user: number; by: number }
  | {
      kind: 'call';
      user: number;
      call: Call;
      fault: { at: number; mode: 'before' | 'after' } | null;
    }
  | { kind: 'parallel'; user: number; calls: Call[] }
  | { kind: 'race'; user: number; calls: Call[] }
  /** Issues 20 and 21 in parallel: code checks and resends of one purpose, proofs used, devices checked and forgotten. */
  | { kind: 'accountParallel'; user: number; purpose: Purpose; calls: Call[] }
  /** Several steps in a row (test/helpers/model-account-steps.ts, flowSteps). */
  | { kind: 'flow'; steps: Step[] };

const codeKind = fc.constantFrom<CodeKind>(
  'now',
  'now',
  'next',
  'prev',
  'far',
  'last',
  'spaced',
  'random',
  'malformed',
);
const pairKind = fc.constantFrom<PairKind>(
  'now',
  'now',
  'ahead',
  'behind',
  'swapped',
  'same',
  'replay',
  'random',
  'malformed',
  'far',
  'stale',
  'factor',
);
const recoveryKind = fc.constantFrom<RecoveryKind>(
  'unused',
  'unused',
  'lower',
  'used',
  'old',
  'random',
  'malformed',
);
const factorPick = fc.nat(3);
// 'PHONE' and 'Phone' are the same name; 'Authenticator' collides with the default.
const namePick = fc.constantFrom<NamePick>(
  undefined,
  undefined,
  'Phone',
  'PHONE',
  'Tablet',
  'Authenticator',
);
const user = fc.integer({ min: 0, max: USERS - 1 });

const call: fc.Arbitrary<Call> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      m: fc.constant('begin' as const),
      name: namePick,
      replace: fc.oneof(
        { weight: 3, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: factorPick },
      ),
      proof: proofPick,
    }),
  },
  { weight: 5, arbitrary: fc.record({ m: fc.constant('complete' as const), pair: pairKind }) },
  {
    weight: 8,
    arbitrary: fc.record({
      m: fc.constant('verify' as const),
      code: codeKind,
      f: factorPick,
      proofFor,
      remember: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ m: fc.constant('resync' as const), pair: pairKind, f: factorPick }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      m: fc.constant('recovery' as const),
      code: recoveryKind,
      pick: fc.nat(9),
      proofFor,
    }),
  },
  { weight: 2, arbitrary: fc.record({ m: fc.constant('regenerate' as const), proof: proofPick }) },
  { weight: 1, arbitrary: fc.constant({ m: 'status' as const }) },
  { weight: 1, arbitrary: fc.constant({ m: 'list' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      m: fc.constant('rename' as const),
      f: factorPick,
      name: fc.constantFrom('Phone', 'PHONE', 'Tablet', 'Authenticator'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ m: fc.constant('remove' as const), f: factorPick, proof: proofPick }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      m: fc.constant('import' as const),
      secret: fc.constantFrom<SecretKind>('fresh', 'weak', 'same'),
      f: factorPick,
      name: namePick,
      lastStep: fc.constantFrom('default' as const, 'none' as const, 'now' as const),
      codes: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ m: fc.constant('disable' as const), proof: proofPick }) },
  { weight: 1, arbitrary: fc.constant({ m: 'erase' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      m: fc.constant('unlock' as const),
      scope: fc.constantFrom('otp' as const, 'recovery' as const, undefined),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ m: 'reencrypt' as const }) },
  { weight: 14, arbitrary: accountCall },
);

/** Calls that may run together: the code checks and reads. */
const parallelCall: fc.Arbitrary<Call> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ m: fc.constant('verify' as const), code: codeKind, f: factorPick }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ m: fc.constant('resync' as const), pair: pairKind, f: factorPick }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      m: fc.constant('recovery' as const),
      code: recoveryKind,
      pick: fc.nat(2),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ m: 'status' as const }) },
  { weight: 1, arbitrary: fc.constant({ m: 'list' as const }) },
);

/** Calls that change a user's factors, raced: the factor limit, names and recovery set must hold. */
const raceCall: fc.Arbitrary<Call> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      m: fc.constant('import' as const),
      secret: fc.constant<SecretKind>('fresh'),
      f: factorPick,
      name: namePick,
      lastStep: fc.constant('none' as const),
      codes: fc.constant(true),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      m: fc.constant('complete' as const),
      pair: fc.constant<PairKind>('now'),
    }),
  },
  { weight: 2, arbitrary: fc.record({ m: fc.constant('remove' as const), f: factorPick }) },
  {
    weight: 1,
    arbitrary: fc.record({
      m: fc.constant('verify' as const),
      code: fc.constant<CodeKind>('now'),
      f: factorPick,
    }),
  },
  { weight: 1, arbitrary: fc.constant({ m: 'regenerate' as const }) },
  { weight: 1, arbitrary: fc.constant({ m: 'disable' as const }) },
);

export const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.oneof(
        fc.constantFrom(0, 1_000, 29_000, 30_000, 31_000, 60_000, 121_000, 16 * 60_000),
        fc.integer({ min: 0, max: 10 * 60_000 }),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('drift' as const),
      user,
      by: fc.integer({ min: -5, max: 5 }),
    }),
  },
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('call' as const),
      user,
      call,
      // A fault in about one call of eight, at one of its first three store operations.
      fault: fc.oneof(
        { weight: 7, arbitrary: fc.constant(null) },
        {
          weight: 1,
          arbitrary: fc.record({
            at: fc.integer({ min: 1, max: 3 }),
            mode: fc.constantFrom('before' as const, 'after' as const),
          }),
        },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('parallel' as const),
      user,
      calls: fc.array(parallelCall, { minLength: 2, maxLength: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('race' as const),
      user,
      calls: fc.array(raceCall, { minLength: 2, maxLength: 4 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('accountParallel' as const),
      user,
      purpose,
      calls: fc.array(accountParallelCall, { minLength: 2, maxLength: 5 }),
    }),
  },
  { weight: 3, arbitrary: flowSteps(user) },
);
