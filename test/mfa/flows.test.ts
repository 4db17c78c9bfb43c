/**
 * The service's flows end to end, with codes from oathtool (an independent
 * implementation; required under CI) and from generateTOTP.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodeBase32,
  generateTOTP,
  MemoryStore,
  MFAError,
  parseKeyURI,
  verifyTOTP,
  type MFAStore,
} from '../../src/index.ts';
import { oathtoolTOTP, skipWithoutOathtool } from '../helpers/oathtool.ts';
import { deviceCode, enroll, harness, newUser, NO_THROTTLE, T0 } from '../helpers/mfa.ts';

type CodeSource = (secret: string, now: number, offsetMs?: number) => Promise<string>;

const sources: [string, CodeSource, boolean][] = [
  ['generateTOTP', async (secret, now, offsetMs = 0) => deviceCode(secret, now, offsetMs), false],
  [
    'oathtool',
    async (secret, now, offsetMs = 0) => {
      const hex = Buffer.from(decodeBase32(secret)).toString('hex');
      const [code] = await oathtoolTOTP({ secretHex: hex, now: now + offsetMs });
      return code as string;
    },
    skipWithoutOathtool(),
  ],
];

describe.each(sources)('full flows with codes from %s', (_name, code, skip) => {
  it.skipIf(skip)('enroll → bind → login → replay refused → next step accepted', async () => {
    const h = harness();
    const user = newUser();
    const begun = await h.mfa.beginEnrollment(user, { accountName: 'alice@example.com' });
    expect(begun.expiresAt).toBe(T0 + 10 * 60_000);
    const key = parseKeyURI(begun.uri);
    expect(key).toMatchObject({ type: 'totp', issuer: 'Acme', accountName: 'alice@example.com' });
    expect(Buffer.from(key.secret).equals(Buffer.from(decodeBase32(begun.secret)))).toBe(true);
    expect(await h.mfa.status(user)).toMatchObject({
      state: 'pending',
      pendingExpiresAt: T0 + 600_000,
    });

    // The user reads the code of step S, waits for S + 1, and submits 5 s into it.
    const first = await code(begun.secret, T0);
    const second = await code(begun.secret, T0 + 30_000);
    h.advance(35_000);
    const bound = await h.mfa.completeEnrollment(user, first, second);
    expect(bound.ok).toBe(true);
    if (!bound.ok) return;
    expect(bound.factorId).toBe(begun.factorId);
    expect(bound.recoveryCodes).toHaveLength(10);
    expect(h.ofType('enrollment_completed')).toEqual([
      {
        type: 'enrollment_completed',
        userId: user,
        at: T0 + 35_000,
        factorId: begun.factorId,
        drift: 0,
        recoveryCodes: 10,
        generation: 1,
      },
    ]);

    // The second binding code's step is used: it cannot be replayed at login.
    expect(await h.mfa.verify(user, second)).toEqual({ ok: false, reason: 'replayed' });
    h.advance(30_000);
    const login = await code(begun.secret, h.now);
    expect(await h.mfa.verify(user, login)).toEqual({
      ok: true,
      factorId: expect.any(String),
      generation: expect.any(Number),
    });
    expect(await h.mfa.verify(user, login)).toEqual({ ok: false, reason: 'replayed' });
    h.advance(30_000);
    expect(await h.mfa.verify(user, await code(begun.secret, h.now))).toEqual({
      ok: true,
      factorId: expect.any(String),
      generation: expect.any(Number),
    });
    expect(h.events.map((e) => e.type)).toEqual([
      'enrollment_started',
      'enrollment_completed',
      'factor_added',
      'verify_replayed',
      'verify_succeeded',
      'verify_replayed',
      'verify_succeeded',
    ]);
    expect(await h.mfa.status(user)).toEqual({
      state: 'active',
      factors: 1,
      pendingExpiresAt: null,
      recoveryCodesRemaining: 10,
      locked: false,
      recoveryLocked: false,
      retryAfterMs: 0,
      generation: 1,
    });
  });

  it.skipIf(skip)(
    'a binding submitted 55 s after the second code appeared stores drift 0',
    async () => {
      const h = harness();
      const user = newUser();
      const { secret } = await h.mfa.beginEnrollment(user, { accountName: 'a' });
      const first = await code(secret, T0);
      const second = await code(secret, T0 + 30_000); // appears at T0 + 30 s
      h.advance(30_000 + 55_000);
      expect((await h.mfa.completeEnrollment(user, first, second)).ok).toBe(true);
      expect(h.ofType('enrollment_completed')[0]?.drift).toBe(0);
      expect((await h.mfa.listFactors(user))[0]?.drift).toBe(0);
      h.advance(30_000);
      expect(await h.mfa.verify(user, await code(secret, h.now))).toEqual({
        ok: true,
        factorId: expect.any(String),
        generation: expect.any(Number),
      });
      expect(h.ofType('verify_succeeded')[0]?.drift).toBe(0);
    },
  );

  it.skipIf(skip)('a device 4 minutes fast binds, then logs in with window 1', async () => {
    const h = harness({ policy: { throttle: NO_THROTTLE } });
    const user = newUser();
    const fast = 4 * 60_000;
    const { secret } = await h.mfa.beginEnrollment(user, { accountName: 'a' });
    const first = await code(secret, h.now - 30_000, fast);
    const second = await code(secret, h.now, fast);
    expect((await h.mfa.completeEnrollment(user, first, second)).ok).toBe(true);
    expect((await h.mfa.listFactors(user))[0]?.drift).toBe(8);
    for (const later of [60_000, 3_600_000, 86_400_000]) {
      const now = T0 + later;
      h.now = now;
      const login = await code(secret, now, fast);
      // Without the drift estimate, window 1 around the server's clock misses it.
      expect(verifyTOTP(decodeBase32(secret), login, { now, window: 1 }).ok).toBe(false);
      expect(await h.mfa.verify(user, login)).toEqual({
        ok: true,
        factorId: expect.any(String),
        generation: expect.any(Number),
      });
    }
    expect(h.ofType('verify_succeeded').map((e) => e.drift)).toEqual([8, 8, 8]);
  });
});

describe('drift', () => {
  it('a code answered resync_required signs in 30 s later, as docs/security-model.md says', async () => {
    const h = harness({ policy: { throttle: NO_THROTTLE, maxDrift: 4 } });
    const user = newUser();
    const { secret } = await enroll(h, user);
    for (let offset = 1; offset <= 4; offset++) {
      h.advance(60_000);
      expect((await h.mfa.verify(user, deviceCode(secret, h.now, offset * 30_000))).ok).toBe(true);
    }
    h.advance(60_000);
    const ahead = deviceCode(secret, h.now, 5 * 30_000);
    expect(await h.mfa.verify(user, ahead)).toEqual({ ok: false, reason: 'resync_required' });
    h.advance(30_000);
    expect(await h.mfa.verify(user, ahead)).toEqual({
      ok: true,
      factorId: expect.any(String),
      generation: expect.any(Number),
    });
    // 0.1.0's security model said such a code "cannot sign anyone in".
    const model = readFileSync(new URL('../../docs/security-model.md', import.meta.url), 'utf8');
    expect(model).not.toMatch(/cannot sign anyone in/);
    expect(model).toMatch(/accepted\s+by\s+`verify`\s+about\s+30\s+seconds\s+later/);
  });

  it('verify follows a drifting clock up to maxDrift, then requires a resync', async () => {
    const h = harness({ policy: { throttle: NO_THROTTLE, maxDrift: 4 } });
    const user = newUser();
    const { secret } = await enroll(h, user);
    // The device gains one step per login.
    for (let offset = 1; offset <= 4; offset++) {
      h.advance(60_000);
      expect(await h.mfa.verify(user, deviceCode(secret, h.now, offset * 30_000))).toEqual({
        ok: true,
        factorId: expect.any(String),
        generation: expect.any(Number),
      });
      expect((await h.mfa.listFactors(user))[0]?.drift).toBe(offset);
    }
    h.advance(60_000);
    const beyond = deviceCode(secret, h.now, 5 * 30_000);
    expect(await h.mfa.verify(user, beyond)).toEqual({ ok: false, reason: 'resync_required' });
    expect(h.ofType('verify_failed').at(-1)?.reason).toBe('resync_required');
    h.advance(30_000);
    expect(await h.mfa.verify(user, deviceCode(secret, h.now, 5 * 30_000))).toEqual({
      ok: false,
      reason: 'resync_required',
    });
    expect((await h.mfa.listFactors(user))[0]?.drift).toBe(4);

    const resynced = await h.mfa.resync(
      user,
      deviceCode(secret, h.now - 30_000, 5 * 30_000),
      deviceCode(secret, h.now, 5 * 30_000),
    );
    expect(resynced).toEqual({
      ok: true,
      factorId: expect.any(String),
      drift: 5,
      clockOffsetSeconds: 150,
    });
    expect(h.ofType('resynced')).toEqual([
      {
        type: 'resynced',
        userId: user,
        at: h.now,
        factorId: resynced.ok ? resynced.factorId : '',
        drift: 5,
      },
    ]);
    h.advance(30_000);
    expect(await h.mfa.verify(user, deviceCode(secret, h.now, 5 * 30_000))).toEqual({
      ok: true,
      factorId: expect.any(String),
      generation: expect.any(Number),
    });
    expect((await h.mfa.listFactors(user))[0]?.drift).toBe(5);
  });

  it('a clock that jumps out of the window is a mismatch until resync; resync refuses replays', async () => {
    const h = harness({ policy: { throttle: NO_THROTTLE } });
    const user = newUser();
    const { secret } = await enroll(h, user);
    const jump = 9 * 30_000;
    h.advance(60_000);
    expect(await h.mfa.verify(user, deviceCode(secret, h.now, jump))).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    const pair = [
      deviceCode(secret, h.now - 30_000, jump),
      deviceCode(secret, h.now, jump),
    ] as const;
    expect(await h.mfa.resync(user, ...pair)).toEqual({
      ok: true,
      factorId: expect.any(String),
      drift: 9,
      clockOffsetSeconds: 270,
    });
    expect(await h.mfa.resync(user, ...pair)).toEqual({ ok: false, reason: 'replayed' });
    expect(await h.mfa.resync(user, pair[1], pair[0])).toEqual({
      ok: false,
      reason: 'wrong_order',
    });
    expect(await h.mfa.resync(user, pair[0], pair[0])).toEqual({ ok: false, reason: 'same_code' });
    expect(await h.mfa.resync(user, '12345', pair[0])).toEqual({ ok: false, reason: 'malformed' });
    expect(await h.mfa.resync(newUser(), ...pair)).toEqual({ ok: false, reason: 'not_enrolled' });
    h.advance(30_000);
    expect(await h.mfa.verify(user, deviceCode(secret, h.now, jump))).toEqual({
      ok: true,
      factorId: expect.any(String),
      generation: expect.any(Number),
    });
  });
});

describe('completeEnrollment reasons', () => {
  it('reports each reason and binds once the codes are right', async () => {
    const h = harness({ policy: { throttle: NO_THROTTLE } });
    const user = newUser();
    expect(await h.mfa.completeEnrollment(user, '123456', '654321')).toEqual({
      ok: false,
      reason: 'not_pending',
    });
    const { secret } = await h.mfa.beginEnrollment(user, { accountName: 'a' });
    const c1 = deviceCode(secret, h.now - 30_000);
    const c2 = deviceCode(secret, h.now);
    const wrong = String((Number(c2) + 1) % 1_000_000).padStart(6, '0');
    const cases: [string, string, string][] = [
      ['12345', c2, 'malformed'],
      [c1, 'abcdef', 'malformed'],
      [c1, `${c2}0`, 'malformed'],
      [c2, c2, 'same_code'],
      [c2, c1, 'wrong_order'],
      [c1, wrong, 'mismatch'],
    ];
    for (const [a, b, reason] of cases) {
      expect(await h.mfa.completeEnrollment(user, a, b)).toEqual({ ok: false, reason });
    }
    expect(h.ofType('enrollment_failed').map((e) => e.reason)).toEqual([
      'not_pending',
      ...cases.map(([, , reason]) => reason),
    ]);
    // Spaces anywhere are ignored, and full-width digits count as digits.
    const spaced = ` ${c1.slice(0, 3)} ${c1.slice(3)} `;
    const fullWidth = [...c2].map((d) => String.fromCharCode(0xff10 + Number(d))).join('');
    expect((await h.mfa.completeEnrollment(user, spaced, fullWidth)).ok).toBe(true);
    expect(await h.mfa.completeEnrollment(user, c1, c2)).toEqual({
      ok: false,
      reason: 'not_pending',
    });
  });

  it('an enrollment expires after pendingTtlMs', async () => {
    const h = harness();
    const user = newUser();
    const { secret, expiresAt } = await h.mfa.beginEnrollment(user, { accountName: 'a' });
    h.now = expiresAt;
    const result = await h.mfa.completeEnrollment(
      user,
      deviceCode(secret, h.now - 30_000),
      deviceCode(secret, h.now),
    );
    expect(result).toEqual({ ok: false, reason: 'expired' });
    expect(await h.mfa.status(user)).toMatchObject({ state: 'none', pendingExpiresAt: null });
    // Starting again works.
    const again = await h.mfa.beginEnrollment(user, { accountName: 'a' });
    expect(again.expiresAt).toBe(expiresAt + 600_000);
  });

  it('a pending enrollment replaced by a new one cannot be completed (its codes: stale_qr)', async () => {
    const h = harness();
    const user = newUser();
    const old = await h.mfa.beginEnrollment(user, { accountName: 'a' });
    const fresh = await h.mfa.beginEnrollment(user, { accountName: 'a' });
    expect(fresh.secret).not.toBe(old.secret);
    const pair = [deviceCode(old.secret, h.now - 30_000), deviceCode(old.secret, h.now)] as const;
    expect(await h.mfa.completeEnrollment(user, ...pair)).toEqual({
      ok: false,
      reason: 'stale_qr',
    });
  });

  it('replaceFactorId: the old factor works until the new one is bound, then is gone', async () => {
    const h = harness();
    const user = newUser();
    const { secret: oldSecret } = await enroll(h, user);
    const [old] = await h.mfa.listFactors(user);
    const error = await h.mfa
      .beginEnrollment(user, { accountName: 'a', replaceFactorId: 'nope' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MFAError);
    expect(error).toMatchObject({ code: 'ERR_FACTOR_NOT_FOUND' });
    const begun = await h.mfa.beginEnrollment(user, {
      accountName: 'a',
      replaceFactorId: old!.id,
    });
    expect(h.ofType('enrollment_started').at(-1)?.replaceFactorId).toBe(old!.id);
    h.advance(30_000);
    expect(await h.mfa.verify(user, deviceCode(oldSecret, h.now))).toEqual({
      ok: true,
      factorId: old!.id,
      generation: expect.any(Number),
    });
    h.advance(30_000);
    const bound = await h.mfa.completeEnrollment(
      user,
      deviceCode(begun.secret, h.now - 30_000),
      deviceCode(begun.secret, h.now),
    );
    // The user had a factor: the recovery codes stay as they were.
    expect(bound).toEqual({
      ok: true,
      factorId: begun.factorId,
      generation: 2,
      clockOffsetSeconds: 0,
      parameters: { algorithm: 'SHA1', digits: 6, period: 30 },
    });
    expect('recoveryCodes' in bound).toBe(false);
    expect((await h.mfa.status(user)).recoveryCodesRemaining).toBe(10);
    expect(h.ofType('factor_removed')).toEqual([
      {
        type: 'factor_removed',
        userId: user,
        at: h.now,
        factorId: old!.id,
        remaining: 1,
        generation: 2,
      },
    ]);
    // The replaced factor's name was free again: the default name is reused.
    expect((await h.mfa.listFactors(user)).map((f) => [f.id, f.name])).toEqual([
      [begun.factorId, 'Authenticator'],
    ]);
    h.advance(30_000);
    expect(await h.mfa.verify(user, deviceCode(oldSecret, h.now))).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(await h.mfa.verify(user, deviceCode(begun.secret, h.now))).toEqual({
      ok: true,
      factorId: begun.factorId,
      generation: 2,
    });
  });
});

describe('verify', () => {
  it('normalises spaces, refuses malformed input without counting an attempt', async () => {
    const h = harness();
    const user = newUser();
    const { secret } = await enroll(h, user);
    h.advance(30_000);
    const code = deviceCode(secret, h.now);
    for (const bad of ['', '12345', '1234567', '12a456', '١٢٣٤٥٦', '12-3456', 'x'.repeat(10_000)]) {
      expect(await h.mfa.verify(user, bad)).toEqual({ ok: false, reason: 'malformed' });
    }
    expect((await h.store.getUser(user, h.now))?.throttle.otp.failures).toBe(0);
    expect(await h.mfa.verify(user, `\t${code.slice(0, 3)} ${code.slice(3)}\n`)).toEqual({
      ok: true,
      factorId: expect.any(String),
      generation: expect.any(Number),
    });
  });

  it('not_enrolled for a user without a factor (also while pending)', async () => {
    const h = harness();
    const user = newUser();
    expect(await h.mfa.verify(user, '123456')).toEqual({ ok: false, reason: 'not_enrolled' });
    await h.mfa.beginEnrollment(user, { accountName: 'a' });
    expect(await h.mfa.verify(user, '123456')).toEqual({ ok: false, reason: 'not_enrolled' });
    expect(await h.store.getUser(user, h.now)).toMatchObject({
      throttle: { otp: { failures: 0, blockedUntil: 0 } },
    });
  });

  it('uses the factor’s own parameters (SHA256, 8 digits, 60 s)', async () => {
    const h = harness({ totp: { algorithm: 'SHA256', digits: 8, period: 60 } });
    const user = newUser();
    const { secret, uri } = await h.mfa.beginEnrollment(user, { accountName: 'a' });
    expect(parseKeyURI(uri)).toMatchObject({ algorithm: 'SHA256', digits: 8, period: 60 });
    const opts = { algorithm: 'SHA256', digits: 8, period: 60 } as const;
    const bytes = decodeBase32(secret);
    h.now = T0 + 30_000; // T0 + 30 s is a 60 s boundary
    const bound = await h.mfa.completeEnrollment(
      user,
      generateTOTP(bytes, { ...opts, now: h.now - 60_000 }),
      generateTOTP(bytes, { ...opts, now: h.now }),
    );
    expect(bound.ok).toBe(true);
    h.advance(60_000);
    expect(await h.mfa.verify(user, generateTOTP(bytes, { ...opts, now: h.now }))).toEqual({
      ok: true,
      factorId: expect.any(String),
      generation: expect.any(Number),
    });
  });
});

describe('account management', () => {
  it('disable removes everything but the throttle state; unlock resets it', async () => {
    const h = harness({ policy: { throttle: { maxFailures: 2, freeAttempts: 2 } } });
    const user = newUser();
    await enroll(h, user);
    h.advance(30_000);
    await h.mfa.verify(user, '000000');
    await h.mfa.verify(user, '000001');
    expect(await h.mfa.status(user)).toMatchObject({ locked: true });
    expect(await h.mfa.disable(user)).toMatchObject({ disabled: true });
    expect(await h.mfa.disable(user)).toMatchObject({ disabled: false });
    expect(h.ofType('disabled')).toHaveLength(1);
    expect(await h.mfa.status(user)).toMatchObject({ state: 'none', locked: true });
    // A lock survives re-enrollment: the binding is refused until an unlock.
    const again = await h.mfa.beginEnrollment(user, { accountName: 'a' });
    const pair = [
      deviceCode(again.secret, h.now - 30_000),
      deviceCode(again.secret, h.now),
    ] as const;
    expect(await h.mfa.completeEnrollment(user, ...pair)).toEqual({ ok: false, reason: 'locked' });
    await h.mfa.unlock(user);
    expect(h.ofType('unlocked')).toEqual([
      { type: 'unlocked', userId: user, at: h.now, scopes: ['otp', 'recovery'] },
    ]);
    expect((await h.mfa.completeEnrollment(user, ...pair)).ok).toBe(true);
  });

  it('regenerateRecoveryCodes and reencryptSecret need an active factor', async () => {
    const h = harness();
    const user = newUser();
    expect(await h.mfa.regenerateRecoveryCodes(user)).toEqual({
      ok: false,
      reason: 'not_enrolled',
    });
    expect(await h.mfa.reencryptSecret(user)).toEqual({ ok: false, reason: 'not_enrolled' });
    expect(await h.mfa.useRecoveryCode(user, 'AAAA-BBBB-CCCC')).toEqual({
      ok: false,
      reason: 'not_enrolled',
    });
    expect(await h.mfa.status(user)).toEqual({
      state: 'none',
      factors: 0,
      pendingExpiresAt: null,
      recoveryCodesRemaining: 0,
      locked: false,
      recoveryLocked: false,
      retryAfterMs: 0,
      generation: 0,
    });
  });
});

describe('store round trips and the optional readAndReserve', () => {
  /** `store`, counting the calls of each method the service makes. */
  function counting(store: MFAStore) {
    const calls: string[] = [];
    const counted = new Proxy(store, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          calls.push(String(property));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    return { counted, calls };
  }

  it('a code check costs one operation before the code is checked with readAndReserve, two without', async () => {
    const inner = new MemoryStore();
    const { counted, calls } = counting(inner);
    const h = harness({ store: counted, policy: { throttle: NO_THROTTLE } });
    const user = newUser();
    const { secret, recoveryCodes } = await enroll(h, user);
    const per = async (run: () => Promise<unknown>) => {
      calls.length = 0;
      await run();
      return [...calls];
    };
    // With readAndReserve, the read and the reservation are one operation.
    const first = h.readAndReserve ? ['readAndReserve'] : ['getUser', 'reserveAttempt'];
    h.advance(30_000);
    const code = deviceCode(secret, h.now);
    expect(await per(() => h.mfa.verify(user, code))).toEqual([...first, 'recordSuccess']);
    expect(await per(() => h.mfa.verify(user, code))).toEqual(first); // replayed
    expect(await per(() => h.mfa.verify(user, '000000'))).toEqual(first); // mismatch
    // Two steps verify has not used (both must be new).
    const pair = [deviceCode(secret, h.now + 30_000), deviceCode(secret, h.now + 60_000)] as const;
    h.advance(60_000);
    expect(await per(() => h.mfa.resync(user, ...pair))).toEqual([
      ...first,
      'recordSuccess',
      'recordSuccess',
    ]);
    expect(await per(() => h.mfa.useRecoveryCode(user, recoveryCodes[0] ?? ''))).toEqual([
      ...first,
      'consumeRecoveryCode',
    ]);
    // Input refused by its shape alone: one read, no reservation, on either path.
    expect(await per(() => h.mfa.verify(user, '12345'))).toEqual(['getUser']);
    expect(await per(() => h.mfa.resync(user, pair[0], pair[0]))).toEqual(['getUser']);
    expect(await per(() => h.mfa.useRecoveryCode(user, 'not a code'))).toEqual(['getUser']);
    expect((await inner.getUser(user, h.now))?.throttle).toEqual({
      otp: { failures: 0, guesses: 0, blockedUntil: 0 },
      recovery: { failures: 0, guesses: 0, blockedUntil: 0 },
    });
  });

  it('a user without a factor or enrollment gets no throttle state from any code check', async () => {
    const h = harness();
    const user = newUser();
    expect(await h.mfa.verify(user, '123456')).toEqual({ ok: false, reason: 'not_enrolled' });
    expect(await h.mfa.resync(user, '123456', '654321')).toEqual({
      ok: false,
      reason: 'not_enrolled',
    });
    expect(await h.mfa.useRecoveryCode(user, 'AAAA-BBBB-CCCC')).toEqual({
      ok: false,
      reason: 'not_enrolled',
    });
    expect(await h.mfa.completeEnrollment(user, '123456', '654321')).toEqual({
      ok: false,
      reason: 'not_pending',
    });
    expect(await h.store.getUser(user, h.now)).toBeNull();
    expect(h.ofType('throttled')).toEqual([]);
  });

  it('not_enrolled wins over malformed input, on both paths', async () => {
    const h = harness();
    const user = newUser();
    for (const bad of ['12345', 'abcdef', '1234567']) {
      expect(await h.mfa.verify(user, bad)).toEqual({ ok: false, reason: 'not_enrolled' });
    }
    expect(await h.mfa.resync(user, '111111', '111111')).toEqual({
      ok: false,
      reason: 'not_enrolled',
    });
    expect(await h.mfa.useRecoveryCode(user, '?')).toEqual({ ok: false, reason: 'not_enrolled' });
    expect(await h.store.getUser(user, h.now)).toBeNull();
  });

  it("a factor whose digits differ from the service's: its own codes work, others are malformed", async () => {
    // Bound with 8 digits; the service is now configured for 6 (the default).
    const h8 = harness({ totp: { digits: 8 } });
    const user = newUser();
    const { secret } = await h8.mfa.beginEnrollment(user, { accountName: 'a' });
    const code8 = (now: number) => generateTOTP(decodeBase32(secret), { now, digits: 8 });
    const h = harness({ store: h8.store });
    h.now = h8.now;
    expect((await h.mfa.completeEnrollment(user, code8(h.now - 30_000), code8(h.now))).ok).toBe(
      true,
    );
    h.advance(30_000);
    expect(await h.mfa.verify(user, code8(h.now))).toEqual({
      ok: true,
      factorId: expect.any(String),
      generation: expect.any(Number),
    });
    const failures = async () => (await h.store.getUser(user, h.now))?.throttle.otp.failures;
    // Six digits is the configured shape, so with readAndReserve the attempt is
    // reserved before the factor's digits are known: it counts as a failure.
    expect(await h.mfa.verify(user, '123456')).toEqual({ ok: false, reason: 'malformed' });
    expect(await failures()).toBe(h.readAndReserve ? 1 : 0);
    expect(await h.mfa.verify(user, '1234567')).toEqual({ ok: false, reason: 'malformed' });
    expect(await failures()).toBe(h.readAndReserve ? 1 : 0);
    expect(h.ofType('verify_failed').map((e) => e.reason)).toEqual(['malformed', 'malformed']);
    h.advance(60_000);
    expect(await h.mfa.resync(user, code8(h.now - 30_000), code8(h.now))).toEqual({
      ok: true,
      factorId: expect.any(String),
      drift: 0,
      clockOffsetSeconds: 0,
    });
    expect(await failures()).toBe(0);
  });

  it('a malformed code that reaches the cap after a reservation reports the lock', async () => {
    const h8 = harness({ totp: { digits: 8 } });
    const user = newUser();
    const { secret } = await h8.mfa.beginEnrollment(user, { accountName: 'a' });
    const code8 = (now: number) => generateTOTP(decodeBase32(secret), { now, digits: 8 });
    expect((await h8.mfa.completeEnrollment(user, code8(h8.now - 30_000), code8(h8.now))).ok).toBe(
      true,
    );
    const h = harness({
      store: h8.store,
      policy: { throttle: { freeAttempts: 2, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 2 } },
    });
    h.now = h8.now;
    await h.mfa.verify(user, '123456');
    await h.mfa.verify(user, '654321');
    const locked = h.readAndReserve
      ? [{ type: 'locked', userId: user, at: h.now, scope: 'otp' }]
      : [];
    expect(h.ofType('locked')).toEqual(locked);
    expect((await h.mfa.status(user)).locked).toBe(h.readAndReserve);
  });
});
