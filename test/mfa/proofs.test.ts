// Issue 20's proof rules on MemoryStore with the default policy ('seed');
// every store runs the same cases through testMFAStore
// (src/testing/identity-proofs.ts). Plus the policy's other settings.
import { describe, expect, it } from 'vitest';
import { MemoryStore, MFAError } from '../../src/index.ts';
import { proofCases } from '../../src/testing/identity-proofs.ts';
import {
  bindFactor,
  freshUser,
  identityHarness,
  proofsEverywhere,
} from '../../src/testing/identity-service.ts';

describe('proof rules (MemoryStore, default policy)', () => {
  proofCases(() => new MemoryStore());
});

describe('policy.proofs', () => {
  it("'any': a verification-code proof suffices even with a factor", async () => {
    const h = identityHarness(new MemoryStore(), { proofs: proofsEverywhere('any') });
    const user = freshUser('any');
    const proofOf = async (purpose: string) => {
      h.advance(60_000);
      await h.mfa.sendVerificationCode(user, {
        channel: 'email',
        destination: 'a@example.com',
        purpose,
      });
      const r = await h.mfa.checkVerificationCode(user, h.lastCode(user), { purpose });
      if (!r.ok) throw new Error(r.reason);
      return r.proof;
    };
    await bindFactor(h, user, await proofOf('enroll'));
    expect(await h.mfa.disable(user, { proof: await proofOf('disable') })).toMatchObject({
      disabled: true,
    });
  });

  it("'none': no proof needed, but one passed is checked and consumed", async () => {
    const h = identityHarness(new MemoryStore(), { proofs: proofsEverywhere('none') });
    const user = freshUser('none');
    await bindFactor(h, user);
    await expect(h.mfa.regenerateRecoveryCodes(user, { proof: 'x'.repeat(32) })).rejects.toThrow(
      MFAError,
    );
    expect(await h.mfa.regenerateRecoveryCodes(user)).toMatchObject({ ok: true });
  });

  it('bounds and names: an unknown purpose or rule is a RangeError naming the field', async () => {
    const { createMFA, plaintextCipher } = await import('../../src/index.ts');
    const make = (proofs: unknown) => () =>
      createMFA({
        store: new MemoryStore(),
        issuer: 'A',
        cipher: plaintextCipher(),
        policy: { proofs: proofs as never },
      });
    expect(make({ required: { enroll: 'maybe' } })).toThrow(/policy\.proofs\.required\.enroll/);
    expect(make({ required: { login: 'none' } })).toThrow(/policy\.proofs\.required/);
    expect(make({ ttlMs: 1 })).toThrow(/policy\.proofs\.ttlMs/);
  });

  it('ERR_PROOF messages state the rule and never contain the token', async () => {
    const h = identityHarness(new MemoryStore());
    const user = freshUser('message');
    const token = 'A'.repeat(32);
    const error = (await h.mfa
      .beginEnrollment(user, { accountName: 'a@example.com', proof: token })
      .catch((e: unknown) => e)) as MFAError;
    expect(error.code).toBe('ERR_PROOF');
    expect(error.message).toMatch(/unknown, already used or expired/);
    expect(`${error.message}${error.stack}`).not.toContain(token);
  });
});
