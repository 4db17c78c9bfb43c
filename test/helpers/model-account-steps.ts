/**
 * The steps of issues 20 and 21 for the model test (test/helpers/model-run.ts):
 * purposes, the proofs a sensitive call passes, the new calls run alone, and
 * those run in parallel.
 */
import fc from 'fast-check';
import type { Call, ProofPick, Purpose, Step, VCodeKind } from './model-steps.ts';

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

/** The sensitive call that takes a proof of `purpose` (export_data: useProof). */
function sensitive(purpose: Purpose, proof: ProofPick): Call {
  switch (purpose) {
    case 'enroll':
      return { m: 'begin', name: undefined, replace: null, proof };
    case 'replace_factor':
      return { m: 'begin', name: undefined, replace: 0, proof };
    case 'remove_factor':
      return { m: 'remove', f: 0, proof };
    case 'regenerate_recovery_codes':
      return { m: 'regenerate', proof };
    case 'disable':
      return { m: 'disable', proof };
    default:
      return { m: 'useProof', proof, purpose };
  }
}

/**
 * Directed sequences that random steps rarely make, each call still checked
 * alone against the model: a proof got by a code or a TOTP code and used at
 * once or after its expiry; a device remembered, then checked after time, a
 * factor change or both; a failing sender after a good send; three devices
 * remembered (the cap).
 */
export function flowSteps(user: fc.Arbitrary<number>): fc.Arbitrary<Step> {
  const call = (c: Call): Step => ({ kind: 'call', user: -1, call: c, fault: null });
  const wait = fc.constantFrom(0, 0, 71_000);
  const byCode: fc.Arbitrary<Step[]> = fc
    .tuple(purpose, wait, fc.constantFrom<ProofPick>('verification', 'match', 'expired'))
    .map(([p, ms, pick]) => [
      call({ m: 'send', channel: 'email', dest: 0, purpose: p, fail: false }),
      call({ m: 'check', code: 'right', purpose: p, dest: 'none' }),
      { kind: 'advance', ms } as Step,
      call(sensitive(p, ms > 0 ? pick : pick === 'expired' ? 'match' : pick)),
    ]);
  const byTOTP: fc.Arbitrary<Step[]> = fc
    .tuple(purpose, wait, fc.constantFrom<ProofPick>('match', 'expired'))
    .map(([p, ms, pick]) => [
      call({ m: 'verify', code: 'now', f: 0, proofFor: p, remember: false }),
      { kind: 'advance', ms } as Step,
      call(sensitive(p, ms > 0 ? pick : 'match')),
    ]);
  const device: fc.Arbitrary<Step[]> = fc
    .tuple(
      fc.constantFrom(0, 30_000, 1_800_000, 3_700_000),
      fc.constantFrom<Call | null>(
        null,
        { m: 'import', secret: 'fresh', f: 0, name: undefined, lastStep: 'none', codes: true },
        { m: 'adminReset' },
        { m: 'forgetDevices' },
      ),
    )
    .map(([ms, change]) => [
      call({ m: 'verify', code: 'now', f: 0, remember: true }),
      { kind: 'advance', ms } as Step,
      ...(change ? [call(change)] : []),
      call({ m: 'checkDevice', pick: -1, other: false }),
      call({ m: 'listDevices' }),
    ]);
  // A failing sender after a good send: no live code is left for the purpose.
  const failed: fc.Arbitrary<Step[]> = purpose.map((p) => [
    call({ m: 'send', channel: 'email', dest: 0, purpose: p, fail: false }),
    call({ m: 'send', channel: 'sms', dest: 0, purpose: p, fail: true }),
    call({ m: 'check', code: 'right', purpose: p, dest: 'none' }),
  ]);
  const cap: fc.Arbitrary<Step[]> = fc.constant([
    call({ m: 'verify', code: 'now', f: 0, remember: true }),
    { kind: 'advance', ms: 30_000 } as Step,
    call({ m: 'verify', code: 'now', f: 1, remember: true }),
    { kind: 'advance', ms: 30_000 } as Step,
    call({ m: 'verify', code: 'now', f: 2, remember: true }),
    call({ m: 'listDevices' }),
    call({ m: 'checkDevice', pick: 0, other: false }),
  ]);
  return fc
    .record({ user, steps: fc.oneof(byCode, byTOTP, device, failed, cap) })
    .map(({ user: u, steps }): Step => ({
      kind: 'flow',
      steps: steps.map((s: Step) => (s.kind === 'call' ? { ...s, user: u } : s)),
    }));
}
