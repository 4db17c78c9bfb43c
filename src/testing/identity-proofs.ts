/**
 * The rules of proofs (issue 20, "Rules" and "Proofs"), checked through the
 * service on the store under test with the default policy (`'seed'`): a
 * proof used twice, a proof for one purpose refused for another, a
 * verification-code proof refused for a change once a factor exists, one
 * proof authorising one change under races, and a pending enrollment shown
 * again.
 * @module
 * @internal
 */
import { expect, it } from 'vitest';
import { MFAError } from '../errors.ts';
import type { MakeStore } from './harness.ts';
import { bindFactor, codeAt, freshUser, identityHarness } from './identity-service.ts';
import type { IdentityHarness } from './identity-service.ts';

const EMAIL = { channel: 'email', destination: 'alice@example.com' } as const;

/** A verification-code proof for `purpose`. */
async function verificationProof(h: IdentityHarness, user: string, purpose: string) {
  const sent = await h.mfa.sendVerificationCode(user, { ...EMAIL, purpose });
  if (!sent.ok) throw new Error(`send refused: ${sent.reason}`);
  const checked = await h.mfa.checkVerificationCode(user, h.lastCode(user), { purpose });
  if (!checked.ok) throw new Error(`check refused: ${checked.reason}`);
  return checked.proof;
}

/** Rejects with MFAError('ERR_PROOF')? */
async function refusedForProof(call: Promise<unknown>): Promise<void> {
  const error = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MFAError);
  expect((error as MFAError).code).toBe('ERR_PROOF');
}

/** A first factor bound with a verification-code proof, as the default policy requires. */
async function enrolled(h: IdentityHarness, label: string) {
  const user = freshUser(label);
  const proof = await verificationProof(h, user, 'enroll');
  const secret = await bindFactor(h, user, proof);
  return { user, secret };
}

/** Registers the proof rule cases for the store `makeStore` returns. */
export function proofCases(makeStore: MakeStore): void {
  const setup = async () => identityHarness(await makeStore());

  it('a first enrollment needs a proof; a verification-code proof suffices', async () => {
    const h = await setup();
    const user = freshUser('seed');
    await refusedForProof(h.mfa.beginEnrollment(user, { accountName: 'a@example.com' }));
    expect(await h.mfa.status(user)).toMatchObject({ state: 'none' });
    const proof = await verificationProof(h, user, 'enroll');
    expect(proof).toMatch(/^[A-Za-z0-9_-]{32}$/);
    await bindFactor(h, user, proof);
    expect(await h.mfa.status(user)).toMatchObject({ state: 'active', factors: 1 });
  });

  it('a proof used twice: the second use is refused and writes nothing', async () => {
    const h = await setup();
    const user = freshUser('twice');
    const proof = await verificationProof(h, user, 'enroll');
    const first = await h.mfa.beginEnrollment(user, { accountName: 'a@example.com', proof });
    await refusedForProof(h.mfa.beginEnrollment(user, { accountName: 'a@example.com', proof }));
    // The pending enrollment is still the first one.
    expect((await h.mfa.pendingEnrollment(user, { accountName: 'a@example.com' }))?.factorId).toBe(
      first.factorId,
    );
  });

  it('a proof for one purpose is refused for another, and stays usable for its own', async () => {
    const h = await setup();
    const { user, secret } = await enrolled(h, 'purpose');
    h.advance(30_000);
    const verified = await h.mfa.verify(user, codeAt(secret, h.now), { proofFor: 'disable' });
    expect(verified).toMatchObject({ ok: true, proofExpiresAt: h.now + 600_000 });
    const proof = verified.ok ? verified.proof : null;
    if (typeof proof !== 'string') throw new Error('no proof');
    await refusedForProof(h.mfa.regenerateRecoveryCodes(user, { proof }));
    const [factor] = await h.mfa.listFactors(user);
    await refusedForProof(h.mfa.removeFactor(user, factor!.id, { proof }));
    expect(await h.mfa.useProof(user, proof, { purpose: 'change_email' })).toBe(false);
    expect(await h.mfa.disable(user, { proof })).toMatchObject({ disabled: true });
    expect(await h.mfa.status(user)).toMatchObject({ state: 'none' });
  });

  it('a verification-code proof is refused for a change once a factor exists (kratos#4317)', async () => {
    const h = await setup();
    const { user, secret } = await enrolled(h, 'kind');
    const [factor] = await h.mfa.listFactors(user);
    for (const purpose of ['remove_factor', 'disable', 'regenerate_recovery_codes', 'enroll']) {
      h.advance(60_000);
      const proof = await verificationProof(h, user, purpose);
      const call =
        purpose === 'remove_factor'
          ? h.mfa.removeFactor(user, factor!.id, { proof })
          : purpose === 'disable'
            ? h.mfa.disable(user, { proof })
            : purpose === 'enroll'
              ? h.mfa.beginEnrollment(user, { accountName: 'a@example.com', name: 'Two', proof })
              : h.mfa.regenerateRecoveryCodes(user, { proof });
      await refusedForProof(call);
    }
    expect(await h.mfa.listFactors(user)).toHaveLength(1);
    // A proof from a current factor does it.
    h.advance(30_000);
    const verified = await h.mfa.verify(user, codeAt(secret, h.now), {
      proofFor: 'remove_factor',
    });
    if (!verified.ok || typeof verified.proof !== 'string') throw new Error('no proof');
    expect(await h.mfa.removeFactor(user, factor!.id, { proof: verified.proof })).toMatchObject({
      ok: true,
      remaining: 0,
    });
  });

  it('a recovery-code proof authorises a change; a proof expires after 10 minutes', async () => {
    const h = await setup();
    const user = freshUser('recovery');
    const proof = await verificationProof(h, user, 'enroll');
    const { secret } = await h.mfa.beginEnrollment(user, { accountName: 'a@example.com', proof });
    h.advance(30_000);
    const bound = await h.mfa.completeEnrollment(
      user,
      codeAt(secret, h.now - 30_000),
      codeAt(secret, h.now),
    );
    if (!bound.ok || bound.recoveryCodes === undefined) throw new Error('binding failed');
    const used = await h.mfa.useRecoveryCode(user, bound.recoveryCodes[0]!, {
      proofFor: 'regenerate_recovery_codes',
    });
    if (!used.ok || typeof used.proof !== 'string') throw new Error('no proof');
    const late = await h.mfa.useRecoveryCode(user, bound.recoveryCodes[1]!, {
      proofFor: 'regenerate_recovery_codes',
    });
    if (!late.ok || typeof late.proof !== 'string') throw new Error('no proof');
    expect(await h.mfa.regenerateRecoveryCodes(user, { proof: used.proof })).toMatchObject({
      ok: true,
    });
    h.advance(600_000);
    await refusedForProof(h.mfa.regenerateRecoveryCodes(user, { proof: late.proof }));
  });

  it('under races, one proof authorises one change', async () => {
    const h = await setup();
    const { user, secret } = await enrolled(h, 'race');
    await h.mfa.importFactor(user, { secret: new Uint8Array(20).fill(3) });
    await h.mfa.importFactor(user, { secret: new Uint8Array(20).fill(4) });
    h.advance(30_000);
    const verified = await h.mfa.verify(user, codeAt(secret, h.now), {
      proofFor: 'remove_factor',
    });
    if (!verified.ok || typeof verified.proof !== 'string') throw new Error('no proof');
    const factors = await h.mfa.listFactors(user);
    const results = await Promise.allSettled(
      factors.map((f) => h.mfa.removeFactor(user, f.id, { proof: verified.proof as string })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as MFAError).code).toBe('ERR_PROOF');
    }
    expect(await h.mfa.listFactors(user)).toHaveLength(2);
  });

  it('useProof: an app purpose, single use, any kind', async () => {
    const h = await setup();
    const user = freshUser('app');
    const proof = await verificationProof(h, user, 'change_email');
    expect(await h.mfa.useProof(user, proof, { purpose: 'change_email' })).toBe(true);
    expect(await h.mfa.useProof(user, proof, { purpose: 'change_email' })).toBe(false);
    expect(await h.mfa.useProof(freshUser('other'), 'x'.repeat(32), { purpose: 'a' })).toBe(false);
  });

  it('pendingEnrollment shows the same QR code and key again until it expires', async () => {
    const h = await setup();
    const user = freshUser('pending');
    expect(await h.mfa.pendingEnrollment(user, { accountName: 'a@example.com' })).toBeNull();
    const proof = await verificationProof(h, user, 'enroll');
    const begun = await h.mfa.beginEnrollment(user, { accountName: 'a@example.com', proof });
    h.advance(60_000);
    const again = await h.mfa.pendingEnrollment(user, { accountName: 'a@example.com' });
    expect(again).toEqual({ factorId: begun.factorId, expiresAt: begun.expiresAt });
    expect(again?.secret).toBe(begun.secret);
    expect(again?.uri).toBe(begun.uri);
    expect(Object.keys(again ?? {})).toEqual(['factorId', 'expiresAt']);
    // The codes of the key shown again bind the factor.
    h.advance(30_000);
    const bound = await h.mfa.completeEnrollment(
      user,
      codeAt(again!.secret, h.now - 30_000),
      codeAt(again!.secret, h.now),
    );
    expect(bound).toMatchObject({ ok: true, factorId: begun.factorId });
    expect(await h.mfa.pendingEnrollment(user, { accountName: 'a@example.com' })).toBeNull();
    const other = freshUser('pending-expired');
    const p2 = await verificationProof(h, other, 'enroll');
    await h.mfa.beginEnrollment(other, { accountName: 'b@example.com', proof: p2 });
    h.advance(600_000);
    expect(await h.mfa.pendingEnrollment(other, { accountName: 'b@example.com' })).toBeNull();
  });
}
