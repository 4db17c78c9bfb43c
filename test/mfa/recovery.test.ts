/**
 * Recovery codes: format, input normalisation, single use under concurrency,
 * regeneration, their own throttle scope, and what the store holds.
 */
import { describe, expect, it } from 'vitest';
import { createAESGCMCipher, decodeBase32 } from '../../src/index.ts';
import { generateRecoveryCode } from '../../src/mfa/recovery-hash.ts';
import { deviceCode, enroll, harness, newUser, NO_THROTTLE, sameAccount } from '../helpers/mfa.ts';

const FORMAT = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;

describe('recovery codes', () => {
  it('are 10 distinct codes of 12 Crockford base32 characters (60 bits), grouped in fours', async () => {
    const h = harness();
    const { recoveryCodes } = await enroll(h, newUser());
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(FORMAT);
    // 12 characters × 5 bits = 60 bits ≥ 50.
    expect(Math.log2(32 ** 12)).toBe(60);
  });

  it('all 32 symbols occur, roughly uniformly', () => {
    const codes = Array.from({ length: 2000 }, generateRecoveryCode);
    const counts = new Map<string, number>();
    for (const c of codes.join('').replace(/-/g, '')) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect([...counts.keys()].sort().join('')).toBe('0123456789ABCDEFGHJKMNPQRSTVWXYZ');
    // 24,000 symbols: 750 expected each (σ ≈ 27); ±20% is far outside chance.
    for (const n of counts.values()) expect(Math.abs(n - 750)).toBeLessThan(150);
  });

  it('accept any case and separators, and O/I/L for 0/1/1; refuse other shapes unchecked', async () => {
    const h = harness({ policy: { recoveryThrottle: NO_THROTTLE } });
    const user = newUser();
    const { recoveryCodes } = await enroll(h, user);
    const variants = (code: string) => {
      const bare = code.replace(/-/g, '');
      const confusable = bare.replace(/0/g, 'o').replace(/1/g, 'l');
      return [
        code.toLowerCase(),
        ` ${bare.slice(0, 6)} ${bare.slice(6)} `,
        bare.split('').join('-'),
        `${confusable.slice(0, 4)}\u2013${confusable.slice(4)}`,
      ];
    };
    const used = recoveryCodes.slice(0, 4);
    for (const [i, code] of used.entries()) {
      const typed = variants(code)[i] as string;
      expect(await h.mfa.useRecoveryCode(user, typed)).toEqual({
        ok: true,
        remaining: 9 - i,
        generation: expect.any(Number),
      });
    }
    for (const bad of [
      '',
      'AAAA-BBBB-CCC',
      'AAAA-BBBB-CCCCD',
      'UUUU-UUUU-UUUU',
      '!!!!-????-****',
    ]) {
      expect(await h.mfa.useRecoveryCode(user, bad)).toEqual({ ok: false, reason: 'malformed' });
    }
    expect((await h.store.getUser(user, h.now))?.throttle.recovery.failures).toBe(0);
    // A used code is gone; a well-formed stranger is a mismatch.
    expect(await h.mfa.useRecoveryCode(user, used[0] as string)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(await h.mfa.useRecoveryCode(user, '0000-0000-0000')).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(h.ofType('recovery_code_used').map((e) => e.remaining)).toEqual([9, 8, 7, 6]);
  });

  it('50 concurrent uses of one code: exactly one succeeds', async () => {
    const h = harness({ policy: { recoveryThrottle: NO_THROTTLE } });
    const user = newUser();
    const { recoveryCodes } = await enroll(h, user);
    const code = recoveryCodes[3] as string;
    const results = await Promise.all(
      Array.from({ length: 50 }, () => h.mfa.useRecoveryCode(user, code)),
    );
    expect(results.filter((r) => r.ok)).toEqual([
      { ok: true, remaining: 9, generation: expect.any(Number) },
    ]);
    expect(results.filter((r) => !r.ok && r.reason === 'replayed')).toHaveLength(49);
    expect(h.ofType('recovery_code_used')).toHaveLength(1);
    expect((await h.mfa.status(user)).recoveryCodesRemaining).toBe(9);
  });

  it('50 concurrent uses of one code under the default throttle: exactly one succeeds', async () => {
    const h = harness();
    const user = newUser();
    const { recoveryCodes } = await enroll(h, user);
    const results = await Promise.all(
      Array.from({ length: 50 }, () => h.mfa.useRecoveryCode(user, recoveryCodes[0] as string)),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect((await h.mfa.status(user)).recoveryCodesRemaining).toBe(9);
  });

  it('regenerating replaces the whole set', async () => {
    const h = harness({ policy: { recoveryThrottle: NO_THROTTLE } });
    const user = newUser();
    const { recoveryCodes: old } = await enroll(h, user);
    const fresh = await h.mfa.regenerateRecoveryCodes(user);
    expect(fresh.ok).toBe(true);
    if (!fresh.ok) return;
    expect(fresh.recoveryCodes).toHaveLength(10);
    expect(fresh.recoveryCodes.filter((c) => old.includes(c))).toEqual([]);
    for (const code of old) {
      expect(await h.mfa.useRecoveryCode(user, code)).toEqual({ ok: false, reason: 'mismatch' });
    }
    expect(await h.mfa.useRecoveryCode(user, fresh.recoveryCodes[9] as string)).toEqual({
      ok: true,
      remaining: 9,
      generation: expect.any(Number),
    });
    expect(h.ofType('recovery_codes_regenerated')).toEqual([
      { type: 'recovery_codes_regenerated', userId: user, at: h.now, count: 10, generation: 2 },
    ]);
  });

  it('have their own throttle scope: a locked user can still recover', async () => {
    const strict = { freeAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 1_000, maxFailures: 3 };
    const h = harness({ policy: { throttle: strict, recoveryThrottle: strict } });
    const user = newUser();
    const { secret, recoveryCodes } = await enroll(h, user);
    h.advance(30_000);
    for (const guess of ['000000', '000001', '000002']) await h.mfa.verify(user, guess);
    expect(await h.mfa.verify(user, deviceCode(secret, h.now))).toEqual({
      ok: false,
      reason: 'locked',
    });
    expect(h.ofType('locked')).toEqual([{ type: 'locked', userId: user, at: h.now, scope: 'otp' }]);
    // Two wrong recovery codes, then a right one: the otp lock is lifted.
    await h.mfa.useRecoveryCode(user, '0000-0000-0000');
    await h.mfa.useRecoveryCode(user, '0000-0000-0001');
    expect((await h.mfa.useRecoveryCode(user, recoveryCodes[5] as string)).ok).toBe(true);
    expect(await h.mfa.status(user)).toMatchObject({ locked: false, recoveryLocked: false });
    expect(await h.mfa.verify(user, deviceCode(secret, h.now))).toEqual({
      ok: true,
      factorId: expect.any(String),
      generation: expect.any(Number),
    });
    // Recovery codes lock too, separately; an admin unlock lifts it.
    for (const guess of ['0000-0000-0002', '0000-0000-0003', '0000-0000-0004']) {
      await h.mfa.useRecoveryCode(user, guess);
      h.advance(1_000);
    }
    expect(await h.mfa.status(user)).toMatchObject({ locked: false, recoveryLocked: true });
    expect(await h.mfa.useRecoveryCode(user, recoveryCodes[6] as string)).toEqual({
      ok: false,
      reason: 'locked',
    });
    await h.mfa.unlock(user, 'recovery');
    expect((await h.mfa.useRecoveryCode(user, recoveryCodes[6] as string)).ok).toBe(true);
  });

  it('the store holds neither a recovery code nor the secret in plaintext', async () => {
    const cipher = createAESGCMCipher({
      keys: { k1: new Uint8Array(32).fill(7) },
      primaryKeyId: 'k1',
    });
    const h = harness({ cipher });
    const user = newUser();
    const { secret, recoveryCodes } = await enroll(h, user);
    const stored = JSON.stringify(await h.store.getUser(user, h.now));
    const bytes = Buffer.from(decodeBase32(secret));
    const forbidden = [
      secret,
      bytes.toString('hex'),
      bytes.toString('base64').replace(/=+$/, ''),
      bytes.toString('base64url'),
      ...recoveryCodes,
      ...recoveryCodes.map((c) => c.replace(/-/g, '')),
    ];
    for (const value of forbidden) expect(stored.toUpperCase()).not.toContain(value.toUpperCase());
    const record = await h.store.getUser(user, h.now);
    expect(record?.factors[0]?.sealedSecret).toMatch(/^A256GCM\.k1\.[A-Za-z0-9_-]+$/);
    expect(record?.recoveryCodes?.salt).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9_-]{22}$/);
    expect(record?.recoveryCodes?.hashes).toHaveLength(10);
    for (const hash of record?.recoveryCodes?.hashes ?? [])
      expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('a set copied into another user’s record matches nothing (the user id is hashed in)', async () => {
    const h = harness({ policy: { recoveryThrottle: NO_THROTTLE } });
    const [alice, mallory] = [newUser('alice'), newUser('mallory')];
    await enroll(h, alice);
    const { recoveryCodes } = await enroll(h, mallory);
    const malloryCodes = (await h.store.getUser(mallory, h.now))?.recoveryCodes;
    if (!malloryCodes) throw new Error('setup');
    expect(
      await h.store.replaceRecoveryCodes(
        alice,
        malloryCodes,
        await sameAccount(h.store, alice, h.now),
      ),
    ).toBe('replaced');
    expect(await h.mfa.useRecoveryCode(alice, recoveryCodes[0] as string)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });
});
