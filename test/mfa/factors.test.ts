/**
 * Several authenticators per user (issue 11): enrollment beside active
 * factors, verify against all of them for one attempt, per-factor replay,
 * the guess budget shared out (odds that do not grow with the factor count),
 * list/rename/remove, importing existing secrets, and erasure.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeBase32,
  encodeBase32,
  generateTOTP,
  MemoryStore,
  MFAError,
  type MFAStore,
} from '../../src/index.ts';
import { attemptLimit } from '../../src/store.ts';
import { deviceCode, enroll, harness, newUser, NO_THROTTLE, type Harness } from '../helpers/mfa.ts';

/** Binds one more factor through beginEnrollment + completeEnrollment. */
async function addFactor(h: Harness, user: string, name?: string) {
  h.advance(1_000); // a later createdAt: factors are listed in that order
  const begun = await h.mfa.beginEnrollment(user, {
    accountName: 'a',
    ...(name === undefined ? {} : { name }),
  });
  const bound = await h.mfa.completeEnrollment(
    user,
    deviceCode(begun.secret, h.now - 30_000),
    deviceCode(begun.secret, h.now),
  );
  if (!bound.ok) throw new Error(`bind failed: ${bound.reason}`);
  return { ...bound, secret: begun.secret, factorId: begun.factorId };
}

const failures = async (h: Harness, user: string) =>
  (await h.store.getUser(user, h.now))?.throttle.otp.failures ?? 0;

describe('several factors', () => {
  it('binds a second factor beside the first: default names, no new recovery codes', async () => {
    const h = harness();
    const user = newUser();
    const first = await enroll(h, user);
    expect(first.recoveryCodes).toHaveLength(10);
    h.advance(60_000);
    const second = await addFactor(h, user);
    expect('recoveryCodes' in second).toBe(false);
    expect(await h.mfa.status(user)).toMatchObject({
      state: 'active',
      factors: 2,
      recoveryCodesRemaining: 10,
    });
    const listed = await h.mfa.listFactors(user);
    expect(listed.map((f) => [f.name, f.algorithm, f.digits, f.period, f.lastUsedAt])).toEqual([
      ['Authenticator', 'SHA1', 6, 30, null],
      ['Authenticator 2', 'SHA1', 6, 30, null],
    ]);
    expect(listed[1]?.id).toBe(second.factorId);
    expect(JSON.stringify(listed)).not.toMatch(/secret/i);
    expect(h.ofType('factor_added').map((e) => e.factors)).toEqual([1, 2]);
  });

  it('verify accepts each factor’s codes, names the factor, and keeps replay state per factor', async () => {
    const h = harness({ policy: { throttle: NO_THROTTLE } });
    const user = newUser();
    const phone = await enroll(h, user);
    const tablet = await addFactor(h, user, 'Tablet');
    h.advance(30_000);
    const [phoneId, tabletId] = (await h.mfa.listFactors(user)).map((f) => f.id);
    expect(await h.mfa.verify(user, deviceCode(phone.secret, h.now))).toEqual({
      ok: true,
      factorId: phoneId,
      generation: expect.any(Number),
    });
    // The same step of the other factor is still unused.
    expect(await h.mfa.verify(user, deviceCode(tablet.secret, h.now))).toEqual({
      ok: true,
      factorId: tabletId,
      generation: 2,
    });
    expect(await h.mfa.verify(user, deviceCode(phone.secret, h.now))).toEqual({
      ok: false,
      reason: 'replayed',
    });
    expect(await h.mfa.verify(user, deviceCode(tablet.secret, h.now))).toEqual({
      ok: false,
      reason: 'replayed',
    });
    const listed = await h.mfa.listFactors(user);
    expect(listed.map((f) => f.lastUsedAt)).toEqual([h.now, h.now]);
    expect(h.ofType('verify_succeeded').map((e) => e.factorId)).toEqual([phoneId, tabletId]);
  });

  it('one attempt per submitted code, however many factors', async () => {
    const h = harness({ policy: { throttle: NO_THROTTLE, maxFactors: 5 } });
    const user = newUser();
    await enroll(h, user);
    for (let i = 0; i < 4; i++) await addFactor(h, user);
    expect((await h.mfa.status(user)).factors).toBe(5);
    h.advance(30_000);
    expect(await h.mfa.verify(user, '000000')).toMatchObject({ ok: false });
    expect(await failures(h, user)).toBe(1);
    expect(await h.mfa.verify(user, '000001')).toMatchObject({ ok: false });
    expect(await failures(h, user)).toBe(2);
  });

  it('the lock comes after ceil(maxFailures / factors) failures, and status agrees', async () => {
    const policy = { throttle: { ...NO_THROTTLE, maxFailures: 10 } };
    for (const [count, limit] of [
      [1, 10],
      [2, 5],
      [3, 4],
      [5, 2],
    ] as const) {
      const h = harness({ policy: { ...policy, maxFactors: 5 } });
      const user = newUser();
      const { secret } = await enroll(h, user);
      for (let i = 1; i < count; i++) await addFactor(h, user);
      h.advance(30_000);
      const wrong = String((Number(deviceCode(secret, h.now)) + 1) % 1_000_000).padStart(6, '0');
      let refused = 0;
      while ((await h.mfa.verify(user, wrong)).ok === false && refused < 20) {
        refused++;
        if ((await h.mfa.status(user)).locked) break;
      }
      expect(refused).toBe(limit);
      expect(attemptLimit(10, count)).toBe(limit);
      expect(await h.mfa.verify(user, deviceCode(secret, h.now))).toEqual({
        ok: false,
        reason: 'locked',
      });
      expect(h.ofType('locked')).toHaveLength(1);
    }
  });

  it('resync finds the factor the codes belong to', async () => {
    const h = harness({ policy: { throttle: NO_THROTTLE } });
    const user = newUser();
    await enroll(h, user);
    const tablet = await addFactor(h, user, 'Tablet');
    h.advance(60_000);
    const jump = 9 * 30_000;
    const result = await h.mfa.resync(
      user,
      deviceCode(tablet.secret, h.now - 30_000, jump),
      deviceCode(tablet.secret, h.now, jump),
    );
    expect(result).toEqual({
      ok: true,
      factorId: tablet.factorId,
      drift: 9,
      clockOffsetSeconds: 270,
    });
    expect((await h.mfa.listFactors(user)).map((f) => f.drift)).toEqual([0, 9]);
  });

  it('beginEnrollment refuses past maxFactors and a taken name (NFKC, case folded)', async () => {
    const h = harness({ policy: { maxFactors: 2 } });
    const user = newUser();
    await enroll(h, user);
    await addFactor(h, user, 'Phone');
    const refusal = (options: object) =>
      h.mfa.beginEnrollment(user, { accountName: 'a', ...options }).catch((e: unknown) => e);
    expect(await refusal({})).toMatchObject({ code: 'ERR_FACTOR_LIMIT' });
    const [, phone] = await h.mfa.listFactors(user);
    // Replacing a factor frees its place, and its name.
    const replacing = await h.mfa.beginEnrollment(user, {
      accountName: 'a',
      name: 'ＰＨＯＮＥ',
      replaceFactorId: phone!.id,
    });
    expect(replacing.factorId).toMatch(/^[0-9a-f-]{36}$/);
    const other = harness({ store: h.store, policy: { maxFactors: 3 } });
    other.now = h.now;
    const taken = await other.mfa
      .beginEnrollment(user, { accountName: 'a', name: 'ＰＨＯＮＥ' })
      .catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(MFAError);
    expect(taken).toMatchObject({ code: 'ERR_NAME_TAKEN' });
    expect(
      await other.mfa
        .beginEnrollment(user, { accountName: 'a', name: 'STRASSE' })
        .then(() => other.mfa.renameFactor(user, phone!.id, 'straße')),
    ).toEqual({ ok: true });
  });
});

describe('renameFactor, removeFactor, deleteUserData', () => {
  it('renames, refusing a name another factor has', async () => {
    const h = harness();
    const user = newUser();
    await enroll(h, user);
    const tablet = await addFactor(h, user);
    const [phone] = await h.mfa.listFactors(user);
    expect(await h.mfa.renameFactor(user, tablet.factorId, ' authenticator'.trim())).toEqual({
      ok: false,
      reason: 'name_taken',
    });
    expect(await h.mfa.renameFactor(user, 'nope', 'X')).toEqual({
      ok: false,
      reason: 'not_found',
    });
    expect(await h.mfa.renameFactor(user, phone!.id, 'Work phone')).toEqual({ ok: true });
    expect((await h.mfa.listFactors(user)).map((f) => f.name)).toEqual([
      'Work phone',
      'Authenticator 2',
    ]);
    expect(h.ofType('factor_renamed')).toEqual([
      { type: 'factor_renamed', userId: user, at: h.now, factorId: phone!.id },
    ]);
  });

  it('removing one factor keeps the others; removing the last turns two-factor sign-in off', async () => {
    const h = harness();
    const user = newUser();
    const phone = await enroll(h, user);
    const tablet = await addFactor(h, user);
    const [phoneFactor] = await h.mfa.listFactors(user);
    expect(await h.mfa.removeFactor(user, phoneFactor!.id)).toEqual({
      ok: true,
      remaining: 1,
      generation: expect.any(Number),
    });
    expect(await h.mfa.removeFactor(user, phoneFactor!.id)).toEqual({
      ok: false,
      reason: 'not_found',
    });
    h.advance(30_000);
    expect(await h.mfa.verify(user, deviceCode(phone.secret, h.now))).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect((await h.mfa.status(user)).recoveryCodesRemaining).toBe(10);
    expect(h.ofType('disabled')).toHaveLength(0);
    expect(await h.mfa.removeFactor(user, tablet.factorId)).toEqual({
      ok: true,
      remaining: 0,
      generation: expect.any(Number),
    });
    expect(h.ofType('disabled')).toHaveLength(1);
    expect(await h.mfa.status(user)).toMatchObject({
      state: 'none',
      factors: 0,
      recoveryCodesRemaining: 0,
    });
    expect((await h.store.getUser(user, h.now))?.recoveryCodes ?? null).toBeNull();
    expect(await h.mfa.useRecoveryCode(user, phone.recoveryCodes[0]!)).toEqual({
      ok: false,
      reason: 'not_enrolled',
    });
  });

  it('deleteUserData erases everything, the lock included (disable keeps it)', async () => {
    const h = harness({ policy: { throttle: { ...NO_THROTTLE, maxFailures: 2 } } });
    const user = newUser();
    await enroll(h, user);
    await h.mfa.verify(user, '000000');
    await h.mfa.verify(user, '000001');
    expect((await h.mfa.status(user)).locked).toBe(true);
    const [factor] = await h.mfa.listFactors(user);
    expect(await h.mfa.deleteUserData(user)).toBe(true);
    expect(await h.store.getUser(user, h.now)).toBeNull();
    expect((await h.mfa.status(user)).locked).toBe(false);
    expect(await h.mfa.deleteUserData(user)).toBe(false);
    expect(h.ofType('user_data_deleted')).toEqual([
      { type: 'user_data_deleted', userId: user, at: h.now, factorIds: [factor!.id] },
    ]);
  });
});

describe('importFactor', () => {
  const secret20 = new Uint8Array([...Array(20).keys()]);

  it('binds a base32 secret without codes, with recovery codes for a first factor', async () => {
    const h = harness();
    const user = newUser();
    const base32 = encodeBase32(secret20);
    const result = await h.mfa.importFactor(user, {
      secret: base32.toLowerCase().replace(/(.{4})/g, '$1 '),
      name: 'Legacy',
      recoveryCodes: true,
    });
    expect(result).toEqual({
      ok: true,
      factorId: expect.any(String),
      alreadyImported: false,
      weak: false,
      generation: expect.any(Number),
    });
    if (!result.ok) return;
    expect(result.recoveryCodes).toHaveLength(10);
    expect(h.ofType('factor_imported')).toEqual([
      {
        type: 'factor_imported',
        userId: user,
        at: h.now,
        factorId: result.factorId,
        weak: false,
        generation: 1,
      },
    ]);
    // No lastStep: the first code accepted is of a step after now + policy.window.
    h.advance(60_000);
    expect(await h.mfa.verify(user, generateTOTP(secret20, { now: h.now }))).toEqual({
      ok: true,
      factorId: result.factorId,
      generation: 1,
    });
    // Sealed with the service's cipher, like an enrolled secret.
    const stored = (await h.store.getUser(user, h.now))?.factors[0];
    expect(stored?.sealedSecret).not.toContain(base32);
    // A second import: no new recovery codes.
    const second = await h.mfa.importFactor(user, { secret: secret20.slice().reverse() });
    expect(second.ok && 'recoveryCodes' in second).toBe(false);
  });

  it('reads an otpauth://totp/ URI with its parameters, and carries lastStep over', async () => {
    const h = harness();
    const user = newUser();
    const base32 = encodeBase32(secret20);
    const uri = `otpauth://totp/Old:alice?secret=${base32}&issuer=Old&algorithm=SHA256&digits=8&period=60`;
    const params = { algorithm: 'SHA256', digits: 8, period: 60 } as const;
    const lastStep = Math.floor(h.now / 60_000);
    const result = await h.mfa.importFactor(user, { uri, lastStep });
    expect(result.ok).toBe(true);
    expect((await h.mfa.listFactors(user))[0]).toMatchObject(params);
    // The step the old system accepted last cannot be used again here.
    expect(await h.mfa.verify(user, generateTOTP(secret20, { ...params, now: h.now }))).toEqual({
      ok: false,
      reason: 'replayed',
    });
    h.advance(60_000);
    expect(
      await h.mfa.verify(user, generateTOTP(secret20, { ...params, now: h.now })),
    ).toMatchObject({ ok: true });
  });

  it('accepts a 10-byte secret as weak, refuses 9 bytes', async () => {
    const h = harness();
    const user = newUser();
    const short = decodeBase32('JBSWY3DPEHPK3PXP'); // 10 bytes, a common legacy length
    expect(await h.mfa.importFactor(user, { secret: short })).toEqual({
      ok: true,
      factorId: expect.any(String),
      weak: true,
      alreadyImported: false,
      generation: expect.any(Number),
    });
    await expect(h.mfa.importFactor(user, { secret: short.slice(0, 9) })).rejects.toThrow(
      /at least 80 bits/,
    );
  });

  it('counts against maxFactors, also when imports race', async () => {
    const h = harness({ policy: { maxFactors: 3 } });
    const user = newUser();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        h.mfa.importFactor(user, {
          secret: new Uint8Array(20).fill(i + 1),
          name: `F${i}`,
          recoveryCodes: true,
        }),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect(results.filter((r) => !r.ok && r.reason === 'factor_limit')).toHaveLength(7);
    expect((await h.mfa.status(user)).factors).toBe(3);
    // Exactly one of them created the recovery codes.
    expect(results.filter((r) => r.ok && r.recoveryCodes !== undefined)).toHaveLength(1);
    expect(await h.mfa.importFactor(user, { secret: secret20 })).toEqual({
      ok: false,
      reason: 'factor_limit',
    });
  });

  it('refuses a name another factor has', async () => {
    const h = harness();
    const user = newUser();
    await h.mfa.importFactor(user, { secret: secret20, name: 'Phone' });
    const other = new Uint8Array(20).fill(7);
    expect(await h.mfa.importFactor(user, { secret: other, name: 'phone' })).toEqual({
      ok: false,
      reason: 'name_taken',
    });
  });
});

describe('round trips for a user with 5 factors', () => {
  /** A store that counts its operations. */
  function counting(inner: MFAStore) {
    const log: string[] = [];
    const store = new Proxy(inner, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          log.push(String(name));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    return { store, log };
  }

  it('verify: 2 store operations on success, 1 on failure (readAndReserve)', async () => {
    const { store, log } = counting(new MemoryStore());
    const h = harness({ store, policy: { throttle: NO_THROTTLE, maxFactors: 5 } });
    expect(h.readAndReserve).toBe(true);
    const user = newUser();
    await enroll(h, user);
    const secrets: string[] = [];
    for (let i = 0; i < 4; i++) secrets.push((await addFactor(h, user)).secret);
    h.advance(30_000);
    log.length = 0;
    expect((await h.mfa.verify(user, deviceCode(secrets[3]!, h.now))).ok).toBe(true);
    expect(log).toEqual(['readAndReserve', 'recordSuccess']);
    log.length = 0;
    expect((await h.mfa.verify(user, '000000')).ok).toBe(false);
    expect(log).toEqual(['readAndReserve']);
  });
});
