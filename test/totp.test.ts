import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createTOTPKey,
  encodeBase32,
  generateTOTP,
  MAX_WINDOW,
  TOTPKey,
  verifyTOTP,
  type Digits,
  type HashAlgorithm,
  type VerifyTOTPResult,
} from '../src/index.ts';
import { fromHex, referenceHOTP, rfc6238, toHex, utf8 } from './helpers/reference.ts';

const rfcSecret = utf8('12345678901234567890');
const YEAR_2100_MS = Date.UTC(2100, 0, 1);

describe('RFC 6238 Appendix B', () => {
  it('has all 18 rows: six times, three hashes, 8 digits, X = 30, T0 = 0', () => {
    expect(rfc6238.vectors).toHaveLength(18);
    expect(new Set(rfc6238.vectors.map((v) => `${v.time}/${v.mode}`)).size).toBe(18);
    expect([rfc6238.timeStep, rfc6238.t0, rfc6238.digits]).toEqual([30, 0, 8]);
    expect(Object.values(rfc6238.seedsHex).map((h) => h.length / 2)).toEqual([20, 32, 64]);
  });

  describe.each(rfc6238.vectors)('$mode at T = $time s', ({ time, tHex, mode, totp }) => {
    const seed = fromHex(rfc6238.seedsHex[mode]);
    const now = time * 1000;
    const step = Number.parseInt(tHex, 16);
    const params = { algorithm: mode, digits: 8 } as const;

    it('generates the published code', () => {
      expect(generateTOTP(seed, { now, ...params })).toBe(totp);
      expect(createTOTPKey(seed, params).generate(now)).toBe(totp);
    });

    it('computes the published T', () => {
      expect(createTOTPKey(seed, params).step(now)).toBe(step);
      // T is the HOTP counter: the independent HOTP of T gives the same code.
      expect(referenceHOTP(seed, step, mode, 8)).toBe(totp);
    });

    it('verifies the published code at delta 0, and not with the wrong hash', () => {
      expect(verifyTOTP(seed, totp, { now, ...params, window: 0 })).toEqual({
        ok: true,
        step,
        delta: 0,
      });
      const other: HashAlgorithm = mode === 'SHA1' ? 'SHA256' : 'SHA1';
      expect(verifyTOTP(seed, totp, { now, digits: 8, algorithm: other })).toEqual({
        ok: false,
        reason: 'mismatch',
      });
    });
  });
});

describe('time steps', () => {
  it('starts a step exactly at a multiple of the period', () => {
    const key = createTOTPKey(rfcSecret);
    expect(key.step(0)).toBe(0);
    expect(key.step(29_999)).toBe(0);
    expect(key.step(30_000)).toBe(1);
    expect(key.step(59_999.9)).toBe(1);
    expect(key.generate(29_999)).toBe(referenceHOTP(rfcSecret, 0));
    expect(key.generate(30_000)).toBe(referenceHOTP(rfcSecret, 1));
  });

  it('counts from T0 (epoch, in seconds) and refuses times before it', () => {
    const key = createTOTPKey(rfcSecret, { epoch: 100, period: 60 });
    expect(key.step(100_000)).toBe(0);
    expect(key.step(159_999)).toBe(0);
    expect(key.step(160_000)).toBe(1);
    expect(() => key.step(99_999)).toThrow(RangeError);
    expect(() => key.generate(99_999)).toThrow(/"now"/);
    expect(key.generate(160_000)).toBe(generateTOTP(rfcSecret, { now: 60_000, period: 60 }));
  });

  it.each([
    ['2038-01-19T03:14:07Z, the last 32-bit second', (2 ** 31 - 1) * 1000, 30],
    ['2038-01-19T03:14:08Z', 2 ** 31 * 1000, 30],
    ['2106-02-07, 2^32 seconds', 2 ** 32 * 1000, 30],
    ['2^32 steps of 1 s', 2 ** 32 * 1000, 1],
    ['the largest safe millisecond, 1 s steps', Number.MAX_SAFE_INTEGER, 1],
    ['the largest safe millisecond, 2^32 - 1 s steps', Number.MAX_SAFE_INTEGER, 2 ** 32 - 1],
  ])('uses 64-bit steps: %s', (_, now, period) => {
    const step = Math.floor(now / 1000 / period);
    for (const algorithm of ['SHA1', 'SHA256', 'SHA512'] as const) {
      const key = createTOTPKey(rfcSecret, { algorithm, period });
      expect(key.step(now)).toBe(step);
      expect(key.generate(now)).toBe(referenceHOTP(rfcSecret, step, algorithm));
    }
  });

  it('fills in the defaults: SHA1, 6 digits, 30 s, T0 = 0, window 1', () => {
    const now = 1_700_000_000_000;
    const explicit = { algorithm: 'SHA1', digits: 6, period: 30, epoch: 0 } as const;
    expect(generateTOTP(rfcSecret, { now })).toBe(generateTOTP(rfcSecret, { now, ...explicit }));
    expect(createTOTPKey(rfcSecret).toJSON()).toEqual(explicit);
    const step = Math.floor(now / 30_000);
    const at = (s: number): string => referenceHOTP(rfcSecret, s);
    expect(verifyTOTP(rfcSecret, at(step - 1), { now })).toEqual({
      ok: true,
      step: step - 1,
      delta: -1,
    });
    expect(verifyTOTP(rfcSecret, at(step + 1), { now })).toEqual({
      ok: true,
      step: step + 1,
      delta: 1,
    });
    expect(verifyTOTP(rfcSecret, at(step - 2), { now })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyTOTP(rfcSecret, at(step + 2), { now })).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('reads the clock only when `now` is omitted', () => {
    const key = createTOTPKey(rfcSecret);
    const before = Date.now();
    const code = key.generate();
    const step = key.step();
    const after = Date.now();
    expect([key.generate(before), key.generate(after)]).toContain(code);
    expect([key.step(before), key.step(after)]).toContain(step);
  });
});

/**
 * The contract's verification, written out plainly over the independent HOTP:
 * try the current step, then −1, +1, −2, +2 … inside the window; a match at or
 * before `afterStep` is skipped and remembered as a replay.
 */
function oracle(
  codeAt: (step: number) => string,
  code: string,
  current: number,
  past: number,
  future: number,
  afterStep = -1,
): VerifyTOTPResult {
  let replayed = false;
  const deltas = [0];
  for (let d = 1; d <= Math.max(past, future); d++) {
    if (d <= past) deltas.push(-d);
    if (d <= future) deltas.push(d);
  }
  for (const delta of deltas) {
    const step = current + delta;
    if (step < 0 || codeAt(step) !== code) continue;
    if (step <= afterStep) {
      replayed = true;
      continue;
    }
    return { ok: true, step, delta };
  }
  return { ok: false, reason: replayed ? 'replayed' : 'mismatch' };
}

const setup = fc.record({
  secret: fc.uint8Array({ minLength: 16, maxLength: 64 }),
  algorithm: fc.constantFrom<HashAlgorithm>('SHA1', 'SHA256', 'SHA512'),
  digits: fc.constantFrom<Digits>(6, 7, 8),
  period: fc.oneof(fc.constantFrom(15, 30, 60, 90), fc.integer({ min: 1, max: 10_000 })),
  nowSeconds: fc.integer({ min: 0, max: YEAR_2100_MS / 1000 }),
  millis: fc.integer({ min: 0, max: 999 }),
  epochFraction: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
  past: fc.integer({ min: 0, max: 6 }),
  future: fc.integer({ min: 0, max: 6 }),
});

describe('verifyTOTP properties', () => {
  it('accepts a code at every offset inside the window and at none outside it', () => {
    fc.assert(
      fc.property(setup, (t) => {
        const epoch = Math.floor((t.epochFraction ?? 0) * t.nowSeconds);
        const now = t.nowSeconds * 1000 + t.millis;
        const params = { algorithm: t.algorithm, digits: t.digits, period: t.period, epoch };
        const key = createTOTPKey(t.secret, params);
        const current = key.step(now);
        expect(current).toBe(Math.floor((t.nowSeconds - epoch) / t.period));
        const codeAt = (s: number): string => referenceHOTP(t.secret, s, t.algorithm, t.digits);
        const window = { past: t.past, future: t.future };
        for (let offset = -t.past - 3; offset <= t.future + 3; offset++) {
          const step = current + offset;
          if (step < 0) continue;
          const code = codeAt(step);
          const result =
            offset % 2 === 0
              ? key.verify(code, { now, window })
              : verifyTOTP(t.secret, code, { ...params, now, window });
          // Exact, including the rare case of another step in the window
          // sharing the code (probability about 10^-digits per step).
          expect(result).toEqual(oracle(codeAt, code, current, t.past, t.future));
          const inside = offset >= -t.past && offset <= t.future;
          if (inside) {
            expect(result.ok).toBe(true);
          } else if (result.ok) {
            expect(result.delta).not.toBe(offset); // only a collision can match
            expect(codeAt(result.step)).toBe(code);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('never accepts a step at or below afterStep, and reports it as replayed', () => {
    fc.assert(
      fc.property(
        setup,
        fc.integer({ min: -8, max: 8 }),
        fc.array(fc.integer({ min: 0, max: 10 ** 8 - 1 }), { maxLength: 5 }),
        (t, afterOffset, randomCodes) => {
          const now = t.nowSeconds * 1000 + t.millis;
          const params = { algorithm: t.algorithm, digits: t.digits, period: t.period };
          const key = createTOTPKey(t.secret, params);
          const current = key.step(now);
          const afterStep = Math.max(-1, current + afterOffset);
          const codeAt = (s: number): string => referenceHOTP(t.secret, s, t.algorithm, t.digits);
          const window = { past: t.past, future: t.future };
          const codes = randomCodes.map((n) => String(n % 10 ** t.digits).padStart(t.digits, '0'));
          for (let offset = -t.past - 1; offset <= t.future + 1; offset++) {
            if (current + offset >= 0) codes.push(codeAt(current + offset));
          }
          for (const code of codes) {
            const result = key.verify(code, { now, window, afterStep });
            expect(result).toEqual(oracle(codeAt, code, current, t.past, t.future, afterStep));
            if (result.ok) expect(result.step).toBeGreaterThan(afterStep);
          }
          // The code of a step at or below afterStep, matching nowhere else: replayed.
          for (
            let s = Math.max(0, current - t.past);
            s <= Math.min(afterStep, current + t.future);
            s++
          ) {
            const code = codeAt(s);
            const elsewhere = oracle(codeAt, code, current, t.past, t.future, afterStep);
            if (!elsewhere.ok) {
              expect(key.verify(code, { now, window, afterStep })).toEqual({
                ok: false,
                reason: 'replayed',
              });
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('verifyTOTP', () => {
  const key = createTOTPKey(rfcSecret);
  const at = (step: number): number => step * 30_000 + 12_345;

  // Steps of the RFC 4226/6238 SHA1 seed that share a 6-digit code (found by
  // search); each test first checks the collision with the independent HOTP.
  const near = { code: '468457', steps: [153_567, 153_569] } as const;
  const far = { code: '709847', steps: [2386, 2394] } as const;

  it('tries the current step, then −1 before +1, nearest first', () => {
    for (const { code, steps } of [near, far]) {
      for (const s of steps) expect(referenceHOTP(rfcSecret, s)).toBe(code);
    }
    // Equidistant: the past step wins.
    expect(key.verify(near.code, { now: at(153_568) })).toEqual({
      ok: true,
      step: 153_567,
      delta: -1,
    });
    expect(key.verify(far.code, { now: at(2390), window: 4 })).toEqual({
      ok: true,
      step: 2386,
      delta: -4,
    });
    // Nearest wins, whichever side.
    expect(key.verify(far.code, { now: at(2391), window: 5 })).toEqual({
      ok: true,
      step: 2394,
      delta: 3,
    });
    expect(key.verify(far.code, { now: at(2389), window: 5 })).toEqual({
      ok: true,
      step: 2386,
      delta: -3,
    });
    // The current step before any other.
    expect(key.verify(far.code, { now: at(2394), window: 10 })).toEqual({
      ok: true,
      step: 2394,
      delta: 0,
    });
  });

  it('does not let a replayed step hide a later step with the same code', () => {
    expect(key.verify(near.code, { now: at(153_568), afterStep: 153_567 })).toEqual({
      ok: true,
      step: 153_569,
      delta: 1,
    });
    expect(key.verify(near.code, { now: at(153_568), afterStep: 153_569 })).toEqual({
      ok: false,
      reason: 'replayed',
    });
  });

  it('treats afterStep as an exclusive bound', () => {
    const code = referenceHOTP(rfcSecret, 1000);
    expect(key.verify(code, { now: at(1000), afterStep: 999 })).toEqual({
      ok: true,
      step: 1000,
      delta: 0,
    });
    expect(key.verify(code, { now: at(1000), afterStep: 1000 })).toEqual({
      ok: false,
      reason: 'replayed',
    });
    expect(key.verify(code, { now: at(1000), afterStep: -1 })).toEqual({
      ok: true,
      step: 1000,
      delta: 0,
    });
    // A wrong code is a mismatch, not a replay, whatever afterStep is.
    expect(key.verify(referenceHOTP(rfcSecret, 1005), { now: at(1000), afterStep: 2000 })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('reports success with delta 0 as ok: true (never falsy-confusable)', () => {
    const result = key.verify(referenceHOTP(rfcSecret, 7), { now: at(7) });
    expect(result).toEqual({ ok: true, step: 7, delta: 0 });
  });

  it('takes the window as one number or { past, future }, at most MAX_WINDOW each', () => {
    expect(MAX_WINDOW).toBe(100);
    const code = referenceHOTP(rfcSecret, 1100);
    expect(key.verify(code, { now: at(1000), window: 100 }).ok).toBe(true);
    expect(key.verify(code, { now: at(1000), window: 99 }).ok).toBe(false);
    expect(key.verify(code, { now: at(1000), window: { past: 0, future: 100 } }).ok).toBe(true);
    expect(key.verify(code, { now: at(1000), window: { past: 100, future: 99 } }).ok).toBe(false);
    expect(key.verify(code, { now: at(1100), window: 0 }).ok).toBe(true);
    expect(key.verify(code, { now: at(1101), window: 0 }).ok).toBe(false);
    expect(() => key.verify(code, { now: at(1000), window: 101 })).toThrow(RangeError);
    expect(() => key.verify(code, { now: at(1000), window: { past: 0, future: 101 } })).toThrow(
      /"window.future"/,
    );
  });

  it('does not look before step 0', () => {
    expect(key.verify(referenceHOTP(rfcSecret, 0), { now: 0, window: 5 })).toEqual({
      ok: true,
      step: 0,
      delta: 0,
    });
    expect(key.verify('000000', { now: 0, window: 5 }).ok).toBe(false);
  });

  it.each([
    '',
    '28708',
    '2870820',
    ' 287082',
    '287082 ',
    '287082\n',
    '287 082',
    '\u0000287082',
    '-87082',
    '+87082',
    '28708a',
    '0x1234',
    '2.8e+5',
    '２８７０８２', // fullwidth digits
    '٢٨٧٠٨٢', // Arabic-Indic digits
    '287082'.repeat(200_000),
  ])('reports %j as malformed', (code) => {
    expect(key.verify(code, { now: 59_000 })).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyTOTP(rfcSecret, code, { now: 59_000 })).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('requires exactly `digits` digits', () => {
    expect(verifyTOTP(rfcSecret, '94287082', { now: 59_000, digits: 8 }).ok).toBe(true);
    expect(verifyTOTP(rfcSecret, '94287082', { now: 59_000 })).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(verifyTOTP(rfcSecret, '287082', { now: 59_000, digits: 8 })).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });
});

describe('TOTPKey', () => {
  const secret = fromHex('8f3a1c5e7b9d2f4a6c8e0b1d3f5a7c9e2b4d6f8a');
  const text = [toHex(secret), toHex(secret).toUpperCase(), encodeBase32(secret)];

  it('never shows the secret in JSON, toString or inspect', () => {
    const key = createTOTPKey(secret, { algorithm: 'SHA256', digits: 8, period: 60 });
    expect(JSON.parse(JSON.stringify(key))).toEqual({
      algorithm: 'SHA256',
      digits: 8,
      period: 60,
      epoch: 0,
    });
    expect(String(key)).toBe('TOTPKey(SHA256, 8 digits, 60 s)');
    for (const shown of [JSON.stringify(key), String(key), inspect(key, { showHidden: true })]) {
      for (const t of text) expect(shown).not.toContain(t);
      expect(shown).not.toMatch(/143,\s*58,\s*28/); // the first bytes, as a list
    }
  });

  it('cannot be constructed without createTOTPKey, which validates the parameters', () => {
    const construct = TOTPKey as unknown as new (...args: unknown[]) => TOTPKey;
    for (const args of [
      [secret, 'SHA1', 9, 30, 0],
      [secret, 'SHA1', 6, 0, 0],
      [Symbol('createTOTPKey'), secret, 'SHA1', 6, 30, 0],
    ]) {
      expect(() => new construct(...args)).toThrow(
        new TypeError('TOTPKey cannot be constructed directly; use createTOTPKey(secret, params)'),
      );
    }
    expect(createTOTPKey(secret)).toBeInstanceOf(TOTPKey);
  });

  it('is unaffected by later changes to the secret array', () => {
    const copy = new Uint8Array(secret);
    const key = createTOTPKey(copy);
    const expected = key.generate(1_700_000_000_000);
    copy.fill(0);
    expect(key.generate(1_700_000_000_000)).toBe(expected);
    expect(expected).toBe(referenceHOTP(secret, Math.floor(1_700_000_000_000 / 30_000)));
  });

  it('does not mutate or require mutable option objects', () => {
    const params = Object.freeze({ algorithm: 'SHA512', digits: 7, period: 45 } as const);
    const options = Object.freeze({
      now: 1_000_000_000_000,
      window: Object.freeze({ past: 2, future: 0 }),
    });
    const key = createTOTPKey(secret, params);
    const code = key.generate(options.now - 90_000);
    expect(key.verify(code, options)).toMatchObject({ ok: true, delta: -2 });
    expect(verifyTOTP(secret, code, { ...params, ...options })).toMatchObject({ ok: true });
    expect(params).toEqual({ algorithm: 'SHA512', digits: 7, period: 45 });
  });
});
