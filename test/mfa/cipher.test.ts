/**
 * Secrets at rest: the AES-256-GCM cipher (user id as associated data, key
 * ids, rotation and re-encryption), the plaintext opt-out, and how the
 * service reports cipher failures.
 */
import { describe, expect, it } from 'vitest';
import {
  createAESGCMCipher,
  MFAError,
  plaintextCipher,
  type SecretCipher,
} from '../../src/index.ts';
import { deviceCode, enroll, harness, newUser } from '../helpers/mfa.ts';

const key = (fill: number) => new Uint8Array(32).fill(fill);
const secret = new Uint8Array([...Array(20).keys()]);

async function rejection(promise: Promise<unknown>): Promise<MFAError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MFAError);
  return error as MFAError;
}

describe('createAESGCMCipher', () => {
  const cipher = createAESGCMCipher({ keys: { k1: key(1) }, primaryKeyId: 'k1' });

  it('round-trips, with a fresh IV each time', async () => {
    const a = await cipher.encrypt(secret, 'user-1');
    const b = await cipher.encrypt(secret, 'user-1');
    expect(a).toMatch(/^A256GCM\.k1\.[A-Za-z0-9_-]{64}$/); // 12 + 20 + 16 bytes
    expect(a).not.toBe(b);
    expect(await cipher.decrypt(a, 'user-1')).toEqual(secret);
    expect(await cipher.decrypt(b, 'user-1')).toEqual(secret);
  });

  it('binds the user id: a value sealed for one user does not open for another', async () => {
    const sealed = await cipher.encrypt(secret, 'alice');
    const error = await rejection(cipher.decrypt(sealed, 'bob'));
    expect(error.code).toBe('ERR_CIPHER');
    expect(error.message).toMatch(/sealed for another user/);
    expect(error.cause).toBeDefined();
  });

  it('refuses tampered, truncated, reformatted values and unknown key ids', async () => {
    const sealed = await cipher.encrypt(secret, 'u');
    const body = sealed.slice('A256GCM.k1.'.length);
    const flipped = body[10] === 'A' ? 'B' : 'A';
    const cases: [string, RegExp][] = [
      [`A256GCM.k1.${body.slice(0, 10)}${flipped}${body.slice(11)}`, /failed authentication/],
      [`A256GCM.k1.${body.slice(0, 36)}`, /not in the A256GCM format/],
      [`A256GCM.k1.${body}.x`, /not in the A256GCM format/],
      [`A128GCM.k1.${body}`, /not in the A256GCM format/],
      [`A256GCM.k1.${body}=`, /not in the A256GCM format/],
      [`A256GCM.k2.${body}`, /key id "k2", which is not in "keys"/],
      [`A256GCM.k.1.${body}`, /not in the A256GCM format/],
      ['plain.AAECAwQFBgcICQoLDA0ODxAREhM', /not in the A256GCM format/],
    ];
    for (const [value, message] of cases) {
      const error = await rejection(cipher.decrypt(value, 'u'));
      expect(error.code).toBe('ERR_CIPHER');
      expect(error.message).toMatch(message);
    }
  });

  it('copies its keys: changing the caller’s array afterwards changes nothing', async () => {
    const material = key(9);
    const c = createAESGCMCipher({ keys: { a: material }, primaryKeyId: 'a' });
    const sealed = await c.encrypt(secret, 'u');
    material.fill(0);
    expect(await c.decrypt(sealed, 'u')).toEqual(secret);
  });

  it('reports whether a value needs re-encryption under the primary key', async () => {
    const c = createAESGCMCipher({ keys: { old: key(1), new: key(2) }, primaryKeyId: 'new' });
    const old = await createAESGCMCipher({ keys: { old: key(1) }, primaryKeyId: 'old' }).encrypt(
      secret,
      'u',
    );
    expect(c.needsReencryption?.(old)).toBe(true);
    expect(c.needsReencryption?.(await c.encrypt(secret, 'u'))).toBe(false);
    expect(await c.decrypt(old, 'u')).toEqual(secret);
  });

  it('validates its options, naming the field and never echoing key bytes', () => {
    const table: [unknown, ErrorConstructor, RegExp][] = [
      [undefined, TypeError, /"keys" must be an object/],
      [{ keys: null, primaryKeyId: 'a' }, TypeError, /"keys" must be an object/],
      [{ keys: [key(1)], primaryKeyId: '0' }, TypeError, /"keys" must be an object/],
      [{ keys: {}, primaryKeyId: 'a' }, RangeError, /at least one key/],
      [
        { keys: { a: key(1).subarray(1) }, primaryKeyId: 'a' },
        RangeError,
        /"keys.a" must be 32 to 32 bytes long, got 31/,
      ],
      [{ keys: { a: new Uint8Array(33) }, primaryKeyId: 'a' }, RangeError, /got 33 bytes/],
      [
        { keys: { a: 'x'.repeat(32) }, primaryKeyId: 'a' },
        TypeError,
        /"keys.a" must be a Uint8Array, got a string of length 32/,
      ],
      [{ keys: { 'a.b': key(1) }, primaryKeyId: 'a.b' }, RangeError, /ids must be 1–64 characters/],
      [
        { keys: { a: key(1) }, primaryKeyId: 'b' },
        RangeError,
        /"primaryKeyId" must be one of the ids/,
      ],
      [{ keys: { a: key(1) }, primaryKeyId: 1 }, TypeError, /"primaryKeyId" must be a string/],
    ];
    for (const [options, type, message] of table) {
      expect(() => createAESGCMCipher(options as never)).toThrow(type);
      expect(() => createAESGCMCipher(options as never)).toThrow(message);
    }
  });
});

describe('plaintextCipher', () => {
  it('stores base64url, opens only its own format, never needs re-encryption', async () => {
    const c = plaintextCipher();
    const sealed = await c.encrypt(secret, 'u');
    expect(sealed).toBe(`plain.${Buffer.from(secret).toString('base64url')}`);
    expect(await c.decrypt(sealed, 'someone else')).toEqual(secret);
    expect(c.needsReencryption?.(sealed)).toBe(false);
    for (const bad of ['plain.', 'plain.***', 'A256GCM.k1.AAAA', 'plain.AAAAA']) {
      expect((await rejection(c.decrypt(bad, 'u'))).code).toBe('ERR_CIPHER');
    }
  });
});

describe('the service with a cipher', () => {
  it('a ciphertext copied into another user’s record fails with ERR_CIPHER', async () => {
    const cipher = createAESGCMCipher({ keys: { k1: key(3) }, primaryKeyId: 'k1' });
    const h = harness({ cipher });
    const [alice, bob] = [newUser('alice'), newUser('bob')];
    const { secret: aliceSecret } = await enroll(h, alice);
    await enroll(h, bob);
    const aliceSealed = (await h.store.getUser(alice, h.now))?.factors[0]?.sealedSecret as string;
    const bobFactor = (await h.store.getUser(bob, h.now))?.factors[0]?.id as string;
    await h.store.replaceSealedSecret(bob, bobFactor, aliceSealed);
    h.advance(30_000);
    const error = await rejection(h.mfa.verify(bob, deviceCode(aliceSecret, h.now)));
    expect(error.code).toBe('ERR_CIPHER');
    expect(h.ofType('verify_succeeded')).toHaveLength(0);
    // Alice's own record still works.
    expect(await h.mfa.verify(alice, deviceCode(aliceSecret, h.now))).toEqual({
      ok: true,
      factorId: expect.any(String),
      generation: expect.any(Number),
    });
  });

  it('after a key rotation old records verify, and reencryptSecret moves them to the new key', async () => {
    const v1 = createAESGCMCipher({ keys: { v1: key(1) }, primaryKeyId: 'v1' });
    const v2 = createAESGCMCipher({ keys: { v1: key(1), v2: key(2) }, primaryKeyId: 'v2' });
    const v2only = createAESGCMCipher({ keys: { v2: key(2) }, primaryKeyId: 'v2' });
    const before = harness({ cipher: v1 });
    const [a, b] = [newUser('a'), newUser('b')];
    const { secret: secretA } = await enroll(before, a);
    const { secret: secretB } = await enroll(before, b);
    const sealedOf = async (user: string) =>
      (await before.store.getUser(user, before.now))?.factors[0]?.sealedSecret ?? '';
    expect(await sealedOf(a)).toMatch(/^A256GCM\.v1\./);

    const rotated = harness({ cipher: v2, store: before.store });
    rotated.now = before.now + 30_000;
    expect(await rotated.mfa.verify(a, deviceCode(secretA, rotated.now))).toEqual({
      ok: true,
      factorId: expect.any(String),
      generation: expect.any(Number),
    });
    expect(await rotated.mfa.reencryptSecret(a)).toEqual({
      ok: true,
      reencrypted: true,
      count: 1,
    });
    expect(await rotated.mfa.reencryptSecret(a)).toEqual({
      ok: true,
      reencrypted: false,
      count: 0,
    });
    expect(await sealedOf(a)).toMatch(/^A256GCM\.v2\./);
    expect(rotated.ofType('secret_reencrypted')).toEqual([
      { type: 'secret_reencrypted', userId: a, at: rotated.now, count: 1 },
    ]);
    // The last step and drift survived the re-encryption: the code is still used.
    expect(await rotated.mfa.verify(a, deviceCode(secretA, rotated.now))).toEqual({
      ok: false,
      reason: 'replayed',
    });

    // Once v1 is retired, the re-encrypted record works and the other does not.
    const retired = harness({ cipher: v2only, store: before.store });
    retired.now = rotated.now + 30_000;
    expect(await retired.mfa.verify(a, deviceCode(secretA, retired.now))).toEqual({
      ok: true,
      factorId: expect.any(String),
      generation: expect.any(Number),
    });
    const error = await rejection(retired.mfa.verify(b, deviceCode(secretB, retired.now)));
    expect(error.code).toBe('ERR_CIPHER');
    expect(error.message).toMatch(/key id "v1"/);
  });

  it('reencryptSecret reseals every factor, the pending enrollment and the one it replaced (issues 10, 12)', async () => {
    const v1 = createAESGCMCipher({ keys: { v1: key(1) }, primaryKeyId: 'v1' });
    const v2 = createAESGCMCipher({ keys: { v1: key(1), v2: key(2) }, primaryKeyId: 'v2' });
    const v2only = createAESGCMCipher({ keys: { v2: key(2) }, primaryKeyId: 'v2' });
    const before = harness({ cipher: v1 });
    const user = newUser();
    await enroll(before, user);
    await before.mfa.importFactor(user, { secret: new Uint8Array(20).fill(7), name: 'Tablet' });
    // An enrollment started under the old key, completed after the sweep; the
    // one it replaced (a reloaded page) is kept sealed to recognise a stale QR code.
    const stale = await before.mfa.beginEnrollment(user, { accountName: 'a', name: 'Laptop' });
    const pending = await before.mfa.beginEnrollment(user, { accountName: 'a', name: 'Laptop' });
    const rotated = harness({ cipher: v2, store: before.store });
    rotated.now = before.now;
    expect(await rotated.mfa.reencryptSecret(user)).toEqual({
      ok: true,
      reencrypted: true,
      count: 4,
    });
    const record = await before.store.getUser(user, before.now);
    expect(record?.pending?.previous?.id).toBe(stale.factorId);
    for (const sealed of [...(record?.factors ?? []), record?.pending, record?.pending?.previous]) {
      expect(sealed?.sealedSecret).toMatch(/^A256GCM\.v2\./);
    }
    // With v1 retired, the stale QR code is still recognised, then the
    // enrollment completes and its factor verifies.
    const retired = harness({ cipher: v2only, store: before.store });
    retired.now = before.now + 30_000;
    expect(
      await retired.mfa.completeEnrollment(
        user,
        deviceCode(stale.secret, retired.now - 30_000),
        deviceCode(stale.secret, retired.now),
      ),
    ).toEqual({ ok: false, reason: 'stale_qr' });
    const bound = await retired.mfa.completeEnrollment(
      user,
      deviceCode(pending.secret, retired.now - 30_000),
      deviceCode(pending.secret, retired.now),
    );
    expect(bound).toMatchObject({ ok: true, factorId: pending.factorId });
    retired.advance(30_000);
    expect(await retired.mfa.verify(user, deviceCode(pending.secret, retired.now))).toEqual({
      ok: true,
      factorId: pending.factorId,
      generation: expect.any(Number),
    });
  });

  it('the diagnosis leaves out a secret the cipher cannot open (issue 12)', async () => {
    const v1 = createAESGCMCipher({ keys: { v1: key(1) }, primaryKeyId: 'v1' });
    const v2only = createAESGCMCipher({ keys: { v2: key(2) }, primaryKeyId: 'v2' });
    const before = harness({ cipher: v1 });
    const user = newUser();
    const stale = await before.mfa.beginEnrollment(user, { accountName: 'a' });
    const retired = harness({ cipher: v2only, store: before.store });
    retired.now = before.now;
    const pending = await retired.mfa.beginEnrollment(user, { accountName: 'a' });
    const pair = (secret: string) =>
      [deviceCode(secret, retired.now - 30_000), deviceCode(secret, retired.now)] as const;
    // The replaced enrollment is sealed under the retired key: no stale_qr, no error.
    expect(await retired.mfa.completeEnrollment(user, ...pair(stale.secret))).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(await retired.mfa.completeEnrollment(user, ...pair(pending.secret))).toMatchObject({
      ok: true,
    });
  });

  it('a cipher failure never counts as a failed attempt (issue 10 point 3)', async () => {
    const v1 = createAESGCMCipher({ keys: { v1: key(1) }, primaryKeyId: 'v1' });
    const v2only = createAESGCMCipher({ keys: { v2: key(2) }, primaryKeyId: 'v2' });
    const before = harness({ cipher: v1 });
    const user = newUser();
    const { secret } = await enroll(before, user);
    const retired = harness({ cipher: v2only, store: before.store });
    retired.now = before.now + 30_000;
    const failures = async () =>
      (await before.store.getUser(user, retired.now))?.throttle.otp.failures ?? 0;
    const start = await failures();
    for (let i = 0; i < 5; i++) {
      const call =
        i % 2 === 0
          ? retired.mfa.verify(user, deviceCode(secret, retired.now))
          : retired.mfa.resync(user, '123456', '654321');
      expect((await rejection(call)).code).toBe('ERR_CIPHER');
    }
    const pending = await before.mfa.beginEnrollment(user, { accountName: 'a', name: 'Two' });
    const error = await rejection(
      retired.mfa.completeEnrollment(
        user,
        deviceCode(pending.secret, retired.now - 30_000),
        deviceCode(pending.secret, retired.now),
      ),
    );
    expect(error.code).toBe('ERR_CIPHER');
    expect(await failures()).toBe(start);
    expect(retired.ofType('locked')).toHaveLength(0);
  });

  it('wraps a custom cipher’s errors and bad results in ERR_CIPHER', async () => {
    const failure = new Error('kms unavailable');
    const broken = (overrides: Partial<SecretCipher>): SecretCipher => ({
      ...plaintextCipher(),
      ...overrides,
    });
    const encryptFails = harness({ cipher: broken({ encrypt: () => Promise.reject(failure) }) });
    const e1 = await rejection(encryptFails.mfa.beginEnrollment(newUser(), { accountName: 'a' }));
    expect(e1).toMatchObject({
      code: 'ERR_CIPHER',
      message: 'cipher.encrypt failed',
      cause: failure,
    });

    const emptySeal = harness({ cipher: broken({ encrypt: async () => '' }) });
    expect(
      (await rejection(emptySeal.mfa.beginEnrollment(newUser(), { accountName: 'a' }))).code,
    ).toBe('ERR_CIPHER');

    const h = harness();
    const user = newUser();
    const { secret } = await enroll(h, user);
    for (const decrypt of [
      () => Promise.reject(failure),
      async () => 'not bytes' as unknown as Uint8Array,
      async () => new Uint8Array(0),
    ]) {
      const other = harness({ cipher: broken({ decrypt }), store: h.store });
      other.now = h.now + 30_000;
      const error = await rejection(other.mfa.verify(user, deviceCode(secret, other.now)));
      expect(error.code).toBe('ERR_CIPHER');
    }
  });
});
