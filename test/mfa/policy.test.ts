/**
 * Policy defaults and validation, and misuse of the API: every entry must
 * throw the right error class with a message naming the field.
 */
import { describe, expect, it } from 'vitest';
import {
  createMFA,
  DEFAULT_MFA_POLICY,
  MemoryStore,
  MFAError,
  plaintextCipher,
  type MFAStore,
} from '../../src/index.ts';
import {
  deviceCode,
  enroll,
  harness,
  newUser,
  readAndReserveHidden,
  withoutReadAndReserve,
} from '../helpers/mfa.ts';

const base = () => ({ store: new MemoryStore(), issuer: 'Acme', cipher: plaintextCipher() });

describe('DEFAULT_MFA_POLICY', () => {
  it('has the documented values and is deeply frozen', () => {
    expect(DEFAULT_MFA_POLICY).toEqual({
      window: 1,
      bindingWindow: 10,
      maxDrift: 4,
      pendingTtlMs: 600_000,
      maxFactors: 5,
      throttle: { freeAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 900_000, maxFailures: 100 },
      recoveryThrottle: {
        freeAttempts: 5,
        baseDelayMs: 1_000,
        maxDelayMs: 900_000,
        maxFailures: 100,
      },
      recoveryCodeCount: 10,
      recoveryCodeScrypt: { N: 2_048, r: 8, p: 1 },
      skewSearch: null,
      acceptAppParameters: false,
      erasureGuardMs: 3_600_000,
      rememberedDevices: { max: 10, ttlMs: 30 * 86_400_000 },
      verificationCodes: {
        length: 6,
        ttlMs: 600_000,
        maxAttemptsPerCode: 5,
        budget: 20,
        budgetWindowMs: 86_400_000,
        resendCooldownMs: 60_000,
        dailyLimitPerDestination: 10,
        dailyLimitPerUser: 20,
      },
      proofs: {
        required: {
          enroll: 'seed',
          replace_factor: 'seed',
          remove_factor: 'seed',
          regenerate_recovery_codes: 'seed',
          disable: 'seed',
        },
        ttlMs: 600_000,
      },
    });
    expect(Object.isFrozen(DEFAULT_MFA_POLICY)).toBe(true);
    expect(Object.isFrozen(DEFAULT_MFA_POLICY.verificationCodes)).toBe(true);
    expect(Object.isFrozen(DEFAULT_MFA_POLICY.proofs.required)).toBe(true);
    expect(Object.isFrozen(DEFAULT_MFA_POLICY.throttle)).toBe(true);
    expect(Object.isFrozen(DEFAULT_MFA_POLICY.rememberedDevices)).toBe(true);
    expect(Object.isFrozen(DEFAULT_MFA_POLICY.recoveryCodeScrypt)).toBe(true);
  });

  it('merges nested overrides field by field without touching the caller’s object', async () => {
    const policy = { throttle: { maxFailures: 3 }, window: 0 };
    const h = harness({ policy });
    expect(policy).toEqual({ throttle: { maxFailures: 3 }, window: 0 });
    const user = newUser();
    const { secret } = await enroll(h, user);
    h.advance(30_000);
    // window 0: the previous step's code is refused.
    expect(await h.mfa.verify(user, deviceCode(secret, h.now - 30_000))).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    await h.mfa.verify(user, '000000');
    await h.mfa.verify(user, '000001');
    expect(await h.mfa.status(user)).toMatchObject({ locked: true });
  });
});

describe('createMFA validation', () => {
  const table: [string, unknown, ErrorConstructor, RegExp][] = [
    ['no options', undefined, TypeError, /"store" must be an MFAStore/],
    ['options not an object', 'x', TypeError, /"options" must be an object/],
    ['no store', { ...base(), store: undefined }, TypeError, /"store" must be an MFAStore/],
    [
      'store without a method',
      { ...base(), store: { ...new MemoryStore(), getUser: async () => null } },
      TypeError,
      /"store.putPending" must be a function/,
    ],
    [
      'store with a readAndReserve that is not a function',
      { ...base(), store: { ...withoutReadAndReserve(new MemoryStore()), readAndReserve: true } },
      TypeError,
      /"store.readAndReserve" must be a function or undefined, got boolean/,
    ],
    [
      'no cipher',
      { ...base(), cipher: undefined },
      TypeError,
      /"cipher" must be a SecretCipher.*plaintextCipher/,
    ],
    [
      'cipher without decrypt',
      { ...base(), cipher: { encrypt: async () => '' } },
      TypeError,
      /"cipher.decrypt"/,
    ],
    ['no issuer', { ...base(), issuer: undefined }, TypeError, /"issuer" must be a string/],
    ['empty issuer', { ...base(), issuer: '' }, RangeError, /"issuer" must be 1 to 256 characters/],
    [
      'issuer with a colon',
      { ...base(), issuer: 'Acme:Corp' },
      RangeError,
      /"issuer" must not contain ":"/,
    ],
    ['clock not a function', { ...base(), clock: 5 }, TypeError, /"clock" must be a function/],
    [
      'rememberedDevices.max 0',
      { ...base(), policy: { rememberedDevices: { max: 0 } } },
      RangeError,
      /"policy.rememberedDevices.max" must be an integer from 1 to 100/,
    ],
    [
      'rememberedDevices.max 101',
      { ...base(), policy: { rememberedDevices: { max: 101 } } },
      RangeError,
      /"policy.rememberedDevices.max"/,
    ],
    [
      'rememberedDevices.ttlMs under an hour',
      { ...base(), policy: { rememberedDevices: { ttlMs: 3_599_999 } } },
      RangeError,
      /"policy.rememberedDevices.ttlMs" must be an integer from 3600000 to 34560000000/,
    ],
    [
      'rememberedDevices.ttlMs over 400 days',
      { ...base(), policy: { rememberedDevices: { ttlMs: 400 * 86_400_000 + 1 } } },
      RangeError,
      /"policy.rememberedDevices.ttlMs"/,
    ],
    [
      'rememberedDevices not an object',
      { ...base(), policy: { rememberedDevices: 10 } },
      TypeError,
      /"policy.rememberedDevices" must be an object/,
    ],
    [
      'onEvent not a function',
      { ...base(), onEvent: {} },
      TypeError,
      /"onEvent" must be a function/,
    ],
    [
      'digits 9',
      { ...base(), totp: { digits: 9 } },
      RangeError,
      /"totp.digits" must be 6, 7 or 8, got 9/,
    ],
    [
      'algorithm MD5',
      { ...base(), totp: { algorithm: 'MD5' } },
      RangeError,
      /"totp.algorithm" must be/,
    ],
    [
      'period 0',
      { ...base(), totp: { period: 0 } },
      RangeError,
      /"totp.period" must be a whole number of seconds from 10 to 120/,
    ],
    [
      // Issue 19, point 4: a period no authenticator app uses.
      'period 1',
      { ...base(), totp: { period: 1 } },
      RangeError,
      /"totp.period" must be a whole number of seconds from 10 to 120 \(the periods authenticator apps use\), got 1/,
    ],
    [
      'period 121',
      { ...base(), totp: { period: 121 } },
      RangeError,
      /"totp.period" must be a whole number of seconds from 10 to 120/,
    ],
    ['policy not an object', { ...base(), policy: 1 }, TypeError, /"policy" must be an object/],
    [
      'window 11',
      { ...base(), policy: { window: 11 } },
      RangeError,
      /"policy.window" must be an integer from 0 to 10, got 11/,
    ],
    ['window 0.5', { ...base(), policy: { window: 0.5 } }, RangeError, /"policy.window"/],
    [
      'skewSearch 200001',
      { ...base(), policy: { skewSearch: 200_001 } },
      RangeError,
      /"policy.skewSearch" must be an integer from 0 to 200000, got 200001/,
    ],
    ['skewSearch -1', { ...base(), policy: { skewSearch: -1 } }, RangeError, /"policy.skewSearch"/],
    [
      'acceptAppParameters "yes"',
      { ...base(), policy: { acceptAppParameters: 'yes' } },
      TypeError,
      /"policy.acceptAppParameters" must be a boolean, got a string/,
    ],
    [
      'bindingWindow 0',
      { ...base(), policy: { bindingWindow: 0 } },
      RangeError,
      /"policy.bindingWindow" must be an integer from 1 to 100/,
    ],
    ['maxDrift -1', { ...base(), policy: { maxDrift: -1 } }, RangeError, /"policy.maxDrift"/],
    [
      'pendingTtlMs 1000',
      { ...base(), policy: { pendingTtlMs: 1000 } },
      RangeError,
      /"policy.pendingTtlMs" must be an integer from 60000 to 86400000/,
    ],
    [
      'maxFailures 101',
      { ...base(), policy: { throttle: { maxFailures: 101 } } },
      RangeError,
      /"policy.throttle.maxFailures" must be an integer from 1 to 100, got 101/,
    ],
    [
      'maxFailures Infinity',
      { ...base(), policy: { recoveryThrottle: { maxFailures: Infinity } } },
      RangeError,
      /"policy.recoveryThrottle.maxFailures"/,
    ],
    [
      'freeAttempts 101',
      { ...base(), policy: { throttle: { freeAttempts: 101 } } },
      RangeError,
      /"policy.throttle.freeAttempts" must be an integer from 0 to 100, got 101/,
    ],
    [
      'maxDelayMs below baseDelayMs',
      { ...base(), policy: { throttle: { baseDelayMs: 5000, maxDelayMs: 10 } } },
      RangeError,
      /"policy.throttle.maxDelayMs" must be an integer from 5000/,
    ],
    [
      'throttle not an object',
      { ...base(), policy: { throttle: 5 } },
      TypeError,
      /"policy.throttle" must be an object/,
    ],
    [
      'recoveryCodeCount 0',
      { ...base(), policy: { recoveryCodeCount: 0 } },
      RangeError,
      /"policy.recoveryCodeCount"/,
    ],
    [
      'scrypt N not a power of two',
      { ...base(), policy: { recoveryCodeScrypt: { N: 3000 } } },
      RangeError,
      /"policy.recoveryCodeScrypt.N" must be a power of two/,
    ],
    [
      'scrypt N too small',
      { ...base(), policy: { recoveryCodeScrypt: { N: 512 } } },
      RangeError,
      /"policy.recoveryCodeScrypt.N" must be an integer from 1024/,
    ],
    [
      'scrypt memory over 256 MiB',
      { ...base(), policy: { recoveryCodeScrypt: { N: 2 ** 20, r: 8 } } },
      RangeError,
      /at most 256 MiB/,
    ],
    [
      'scrypt r 0',
      { ...base(), policy: { recoveryCodeScrypt: { r: 0 } } },
      RangeError,
      /"policy.recoveryCodeScrypt.r"/,
    ],
  ];
  it.each(table)('%s', (_name, options, type, message) => {
    expect(() => createMFA(options as never)).toThrow(type);
    expect(() => createMFA(options as never)).toThrow(message);
  });
});

describe('method misuse', () => {
  it('throws TypeError / RangeError naming the argument', async () => {
    const h = harness();
    const user = newUser();
    const table: [() => Promise<unknown>, ErrorConstructor, RegExp][] = [
      [() => h.mfa.verify(42 as never, '123456'), TypeError, /"userId" must be a string, got 42/],
      [() => h.mfa.verify('', '123456'), RangeError, /"userId" must be 1 to 256 characters/],
      [() => h.mfa.verify('u'.repeat(257), '123456'), RangeError, /"userId"/],
      [
        () => h.mfa.verify(user, 123456 as never),
        TypeError,
        /^"code" must be a string, got number$/,
      ],
      [() => h.mfa.verify(user, null as never), TypeError, /"code" must be a string, got null/],
      [() => h.mfa.completeEnrollment(user, '123456', undefined as never), TypeError, /"code2"/],
      [
        () => h.mfa.resync(user, [] as never, '1'),
        TypeError,
        /"code1" must be a string, got an array/,
      ],
      [
        () => h.mfa.useRecoveryCode(user, 7 as never),
        TypeError,
        /"code" must be a string, got number/,
      ],
      [() => h.mfa.beginEnrollment(user, undefined as never), TypeError, /"accountName"/],
      [() => h.mfa.beginEnrollment(user, { accountName: 'a:b' }), RangeError, /"accountName"/],
      [
        () => h.mfa.beginEnrollment(user, { accountName: 'a', replaceFactorId: 7 as never }),
        TypeError,
        /"replaceFactorId" must be a string/,
      ],
      [() => h.mfa.beginEnrollment(user, { accountName: 'a', name: '' }), RangeError, /"name"/],
      [
        () => h.mfa.beginEnrollment(user, { accountName: 'a', name: 'x'.repeat(65) }),
        RangeError,
        /"name" must be 1 to 64 characters/,
      ],
      [
        () => h.mfa.beginEnrollment(user, { accountName: 'a', name: 'a\nb' }),
        RangeError,
        /"name" must not contain control characters/,
      ],
      [
        () => h.mfa.beginEnrollment(user, { accountName: 'a', name: 'a\uD800' }),
        RangeError,
        /"name" must be well-formed/,
      ],
      [() => h.mfa.renameFactor(user, 'f', 7 as never), TypeError, /"name" must be a string/],
      [() => h.mfa.importFactor(user, {}), TypeError, /exactly one of "secret" and "uri"/],
      [
        () => h.mfa.importFactor(user, { secret: new Uint8Array(9) }),
        RangeError,
        /"secret" must be 10 to 1024 bytes long \(at least 80 bits\), got 9 bytes/,
      ],
      [
        () => h.mfa.importFactor(user, { secret: 'JBSWY3DPEHPK3PXP', digits: 9 as never }),
        RangeError,
        /"digits"/,
      ],
      [
        () => h.mfa.importFactor(user, { secret: 'JBSWY3DPEHPK3PXP', lastStep: -2 }),
        RangeError,
        /"lastStep"/,
      ],
      [
        () =>
          h.mfa.importFactor(user, {
            uri: 'otpauth://hotp/A:b?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&counter=1&issuer=A',
          }),
        RangeError,
        /"uri" must be an otpauth:\/\/totp\/ key URI/,
      ],
      [
        () =>
          h.mfa.importFactor(user, {
            uri: 'otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&digits=8&issuer=A',
            digits: 6,
          }),
        RangeError,
        /"digits" is 6 but the URI says 8/,
      ],
      [() => h.mfa.unlock(user, 'all' as never), RangeError, /"scope" must be 'otp' or 'recovery'/],
      [() => h.mfa.status(undefined as never), TypeError, /"userId"/],
    ];
    for (const [run, type, message] of table) {
      const error = await run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(type);
      expect((error as Error).message).toMatch(message);
    }
    // Nothing was written by any of them.
    expect(await h.store.getUser(user, h.now)).toBeNull();
  });

  it('a clock that returns a bad time is a RangeError naming clock()', async () => {
    for (const bad of [Number.NaN, -1, 2 ** 53]) {
      const mfa = createMFA({ ...base(), clock: () => bad });
      await expect(mfa.status('u')).rejects.toThrow(/"clock\(\)" must be Unix milliseconds/);
    }
  });
});

describe('store and event handler failures', () => {
  it('a store reservation of the wrong shape is ERR_STORE, from either operation', async () => {
    const inner = new MemoryStore();
    const h0 = harness({ store: inner });
    const user = newUser();
    const { secret } = await enroll(h0, user);
    const record = await inner.getUser(user, h0.now);
    for (const reservation of [
      { ok: false, reason: 'throttled' },
      { ok: false, reason: 'throttled', retryAfterMs: -5 },
      { ok: false, reason: 'nope' },
      { ok: true },
      { ok: true, failures: 1.5 },
      undefined,
    ]) {
      const stores: [MFAStore, string][] = [
        [
          { ...withoutReadAndReserve(inner), reserveAttempt: async () => reservation as never },
          'store.reserveAttempt returned an invalid reservation',
        ],
        [
          {
            ...withoutReadAndReserve(inner),
            readAndReserve: async () => ({ record, reservation: reservation as never }),
          },
          'store.readAndReserve returned an invalid reservation',
        ],
      ];
      for (const [store, message] of stores) {
        const h = harness({ store });
        if (store.readAndReserve && !h.readAndReserve) continue; // hidden on this run
        h.now = h0.now + 30_000;
        const error = await h.mfa.verify(user, deviceCode(secret, h.now)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(MFAError);
        expect(error).toMatchObject({ code: 'ERR_STORE', message });
      }
    }
  });

  // Not registered on the run that hides readAndReserve: there is nothing to check.
  if (!readAndReserveHidden())
    it('a readAndReserve result of the wrong shape, or at odds with its record, is ERR_STORE', async () => {
      const inner = new MemoryStore();
      const h0 = harness({ store: inner });
      const user = newUser();
      const { secret } = await enroll(h0, user);
      const record = await inner.getUser(user, h0.now);
      const granted = { ok: true, failures: 1, guesses: 1 };
      for (const [result, message] of [
        [null, 'store.readAndReserve returned an invalid result'],
        [{}, 'store.readAndReserve returned an invalid result'],
        [{ record }, 'store.readAndReserve returned an invalid result'],
        [{ record: undefined, reservation: null }, 'does not match its record'],
        // An active factor, but no reservation; a reservation, but no factor.
        [{ record, reservation: null }, 'does not match its record'],
        [{ record: null, reservation: granted }, 'does not match its record'],
        [{ record: { ...record, factors: [] }, reservation: granted }, 'does not match its record'],
      ] as const) {
        const store = {
          ...withoutReadAndReserve(inner),
          readAndReserve: async () => result as never,
        };
        const h = harness({ store });
        expect(h.readAndReserve).toBe(true);
        h.now = h0.now + 30_000;
        const error = await h.mfa.verify(user, deviceCode(secret, h.now)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(MFAError);
        expect(error).toMatchObject({ code: 'ERR_STORE' });
        expect((error as MFAError).message).toContain(message);
      }
    });

  it('an onEvent that throws rejects the call after the write it reports', async () => {
    const failure = new Error('audit log down');
    const h = harness();
    const user = newUser();
    const { secret } = await enroll(h, user);
    const failing = harness({
      store: h.store,
      onEvent: (event) => {
        if (event.type === 'verify_succeeded') throw failure;
      },
    });
    failing.now = h.now + 30_000;
    const code = deviceCode(secret, failing.now);
    await expect(failing.mfa.verify(user, code)).rejects.toBe(failure);
    expect(await failing.mfa.verify(user, code)).toEqual({ ok: false, reason: 'replayed' });
  });
});
