/**
 * The steps of issues 20 and 21 for the model test (test/helpers/model-run.ts):
 * purposes, the proofs a sensitive call passes, the new calls run alone, and
 * those run in parallel.
 */
import fc from 'fast-check';
import type { Call, ProofPick, Purpose, VCodeKind } from './model-steps.ts';

export const purposes = [
  'enroll',
  'replace_factor',
  'remove_factor',
  'regenerate_recovery_codes',
  'disable',
  'export_data',
] as const;
export const purpose = fc.constantFrom<Purpose>(...purposes);
export const proofPick = fc.constantFrom<ProofPick>(
  'match',
  'match',
  'match',
  'verification',
  'other',
  'expired',
  'none',
  'any',
  'bogus',
);
/** A proof asked of a code check now and then. */
export const proofFor = fc.option(purpose, { freq: 3, nil: undefined });

/** The calls of issues 20 and 21. */
export const accountCall: fc.Arbitrary<Call> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      m: fc.constant('send' as const),
      channel: fc.constantFrom('email' as const, 'email' as const, 'sms' as const),
      dest: fc.nat(1),
      purpose,
      fail: fc.boolean(),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      m: fc.constant('check' as const),
      code: fc.constantFrom<VCodeKind>(
        'right',
        'right',
        'wrong',
        'wrong',
        'wrong',
        'malformed',
        'other',
      ),
      purpose,
      dest: fc.constantFrom('none' as const, 'none' as const, 'same' as const, 'other' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ m: fc.constant('useProof' as const), proof: proofPick, purpose }),
  },
  { weight: 1, arbitrary: fc.constant({ m: 'pendingEnrollment' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      m: fc.constant('checkDevice' as const),
      pick: fc.nat(5),
      other: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ m: 'listDevices' as const }) },
  { weight: 1, arbitrary: fc.record({ m: fc.constant('forgetDevice' as const), pick: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.constant({ m: 'forgetDevices' as const }) },
  { weight: 1, arbitrary: fc.constant({ m: 'adminReset' as const }) },
);

/** Calls of issues 20 and 21 in flight together (the purpose is the step's). */
export const accountParallelCall: fc.Arbitrary<Call> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      m: fc.constant('check' as const),
      code: fc.constantFrom<VCodeKind>('right', 'right', 'wrong'),
      purpose: fc.constant<Purpose>('enroll'),
      dest: fc.constant('none' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      m: fc.constant('send' as const),
      channel: fc.constant('email' as const),
      dest: fc.nat(2),
      purpose: fc.constant<Purpose>('enroll'),
      fail: fc.constant(false),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      m: fc.constant('useProof' as const),
      proof: fc.constant<ProofPick>('match'),
      purpose: fc.constant<Purpose>('export_data'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      m: fc.constant('checkDevice' as const),
      pick: fc.nat(5),
      other: fc.constant(false),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ m: 'forgetDevices' as const }) },
);
