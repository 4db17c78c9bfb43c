/**
 * The recovery code KDF: exactly one scrypt evaluation per attempt, whatever
 * the number of stored codes; one per code when a set is created; the default
 * parameters end up in the stored salt. Costs are printed, not asserted.
 */
import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_MFA_POLICY } from '../../src/index.ts';
import { enroll, harness, newUser, NO_THROTTLE } from '../helpers/mfa.ts';

const calls = vi.hoisted(() => ({ params: [] as { N: number; r: number; p: number }[] }));

// Counts evaluations on whichever backend the runtime chose (native here).
vi.mock('../../src/mfa/_scrypt.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/mfa/_scrypt.ts')>();
  return {
    ...original,
    loadScrypt: async () => {
      const backend = await original.loadScrypt();
      return {
        ...backend,
        derive: (...args: Parameters<typeof backend.derive>) => {
          const { N, r, p } = args[2];
          calls.params.push({ N, r, p });
          return backend.derive(...args);
        },
      };
    },
  };
});

describe('recovery code KDF', () => {
  it('one evaluation per attempt, one per code at creation', async () => {
    const h = harness({ policy: { recoveryThrottle: NO_THROTTLE, recoveryCodeCount: 16 } });
    const user = newUser();
    calls.params.length = 0;
    const { recoveryCodes } = await enroll(h, user);
    expect(calls.params).toHaveLength(16);
    calls.params.length = 0;
    await h.mfa.useRecoveryCode(user, '0000-0000-0000'); // mismatch against 16 hashes
    expect(calls.params).toHaveLength(1);
    await h.mfa.useRecoveryCode(user, recoveryCodes[15] as string);
    expect(calls.params).toHaveLength(2);
    await h.mfa.useRecoveryCode(user, 'not a code'); // malformed: no evaluation
    expect(calls.params).toHaveLength(2);
  });

  it('the default parameters are scrypt N = 2^11, r = 8, p = 1, stored with the set', async () => {
    expect(DEFAULT_MFA_POLICY.recoveryCodeScrypt).toEqual({ N: 2048, r: 8, p: 1 });
    const h = harness({ policy: { recoveryCodeScrypt: DEFAULT_MFA_POLICY.recoveryCodeScrypt } });
    const user = newUser();
    calls.params.length = 0;
    const created = performance.now();
    const { recoveryCodes } = await enroll(h, user);
    const createMs = performance.now() - created;
    expect(calls.params).toEqual(Array(10).fill({ N: 2048, r: 8, p: 1 }));
    expect((await h.store.getUser(user, h.now))?.recoveryCodes?.salt).toMatch(
      /^\$scrypt\$ln=11,r=8,p=1\$/,
    );
    const attempt = performance.now();
    expect((await h.mfa.useRecoveryCode(user, recoveryCodes[0] as string)).ok).toBe(true);
    const attemptMs = performance.now() - attempt;
    console.log(
      `scrypt N=2^11 r=8 p=1 (2 MiB): enrollment with 10 codes ${createMs.toFixed(0)} ms, ` +
        `one recovery attempt ${attemptMs.toFixed(0)} ms`,
    );
  });

  it('a set keeps verifying with the parameters it was made with', async () => {
    const h = harness({ policy: { recoveryCodeScrypt: { N: 4096, r: 4, p: 2 } } });
    const user = newUser();
    const { recoveryCodes } = await enroll(h, user);
    calls.params.length = 0;
    const later = harness({ store: h.store }); // default-cost service, same store
    later.now = h.now;
    expect((await later.mfa.useRecoveryCode(user, recoveryCodes[0] as string)).ok).toBe(true);
    expect(calls.params).toEqual([{ N: 4096, r: 4, p: 2 }]);
  });
});
