import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  generateTOTP,
  verifyConsecutiveTOTP,
  type Digits,
  type HashAlgorithm,
} from '../src/index.ts';
import { fromHex, referenceHOTP } from './helpers/reference.ts';

const secret = fromHex('3132333435363738393031323334353637383930');
const PERIOD_MS = 30_000;
/** The current step in these tests, and a time 10 s into it. */
const C = 56_666_667;
const now = C * PERIOD_MS + 10_000;
const codeAt = (step: number): string => referenceHOTP(secret, step);
/** The code a device shows at `deviceTime` (Unix ms). */
const shown = (deviceTime: number): string => generateTOTP(secret, { now: deviceTime });

describe('verifyConsecutiveTOTP', () => {
  it('uses fixed data whose codes do not collide around the current step', () => {
    const codes = new Set<string>();
    for (let s = C - 20; s <= C + 20; s++) codes.add(codeAt(s));
    expect(codes.size).toBe(41);
    expect(shown(now)).toBe(codeAt(C));
  });

  it('binds an in-sync pair: the previous and the current code', () => {
    expect(verifyConsecutiveTOTP(secret, [shown(now - PERIOD_MS), shown(now)], { now })).toEqual({
      ok: true,
      step: C,
      drift: 0,
    });
  });

  it('records no drift for a pair whose second code appeared 55 s before now', () => {
    // The second code's step started 55 s ago: it is now the previous step.
    const late = C * PERIOD_MS + 55_000;
    const pair = [shown(late - 85_000), shown(late - 55_000)] as const;
    expect(pair).toEqual([codeAt(C - 1), codeAt(C)]);
    expect(verifyConsecutiveTOTP(secret, pair, { now: late })).toEqual({
      ok: true,
      step: C,
      drift: 0,
    });
  });

  it('finds a device 4 minutes fast and reports its drift in steps', () => {
    const device = now + 4 * 60_000;
    const pair = [shown(device - PERIOD_MS), shown(device)] as const;
    expect(verifyConsecutiveTOTP(secret, pair, { now })).toEqual({
      ok: true,
      step: C + 8,
      drift: 8,
    });
  });

  it('finds a device 4 minutes slow, counting one step as typing time', () => {
    const device = now - 4 * 60_000;
    const pair = [shown(device - PERIOD_MS), shown(device)] as const;
    // Pair ends 8 steps back; one of those may be the user's typing time.
    expect(verifyConsecutiveTOTP(secret, pair, { now })).toEqual({
      ok: true,
      step: C - 8,
      drift: -7,
    });
    expect(verifyConsecutiveTOTP(secret, [codeAt(C - 3), codeAt(C - 2)], { now })).toEqual({
      ok: true,
      step: C - 2,
      drift: -1,
    });
  });

  it('refuses the same code twice (same_code)', () => {
    expect(verifyConsecutiveTOTP(secret, [codeAt(C), codeAt(C)], { now })).toEqual({
      ok: false,
      reason: 'same_code',
    });
    expect(verifyConsecutiveTOTP(secret, ['123456', '123456'], { now })).toEqual({
      ok: false,
      reason: 'same_code',
    });
  });

  it('refuses the codes swapped (wrong_order)', () => {
    expect(verifyConsecutiveTOTP(secret, [codeAt(C), codeAt(C - 1)], { now })).toEqual({
      ok: false,
      reason: 'wrong_order',
    });
    expect(verifyConsecutiveTOTP(secret, [codeAt(C + 5), codeAt(C + 4)], { now })).toEqual({
      ok: false,
      reason: 'wrong_order',
    });
  });

  it('refuses codes that are not consecutive (mismatch)', () => {
    for (const pair of [
      [codeAt(C - 2), codeAt(C)],
      [codeAt(C), codeAt(C + 2)],
      [codeAt(C), '000000'],
      ['000000', codeAt(C)],
    ] as const) {
      expect(verifyConsecutiveTOTP(secret, pair, { now })).toEqual({
        ok: false,
        reason: 'mismatch',
      });
    }
  });

  it('refuses a pair outside the window (mismatch)', () => {
    const device = now + 6 * 60_000; // 12 steps fast
    const pair = [shown(device - PERIOD_MS), shown(device)] as const;
    expect(verifyConsecutiveTOTP(secret, pair, { now })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verifyConsecutiveTOTP(secret, pair, { now, window: 12 })).toMatchObject({
      ok: true,
      drift: 12,
    });
    const fourMinutes = [codeAt(C + 7), codeAt(C + 8)] as const;
    expect(verifyConsecutiveTOTP(secret, fourMinutes, { now, window: 5 })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it("bounds the second code's step by the window (default 10 steps each side)", () => {
    const pairEndingAt = (end: number) => [codeAt(end - 1), codeAt(end)] as const;
    expect(verifyConsecutiveTOTP(secret, pairEndingAt(C + 10), { now })).toMatchObject({
      ok: true,
      step: C + 10,
    });
    expect(verifyConsecutiveTOTP(secret, pairEndingAt(C - 10), { now })).toMatchObject({
      ok: true,
      step: C - 10,
    });
    for (const end of [C + 11, C - 11]) {
      expect(verifyConsecutiveTOTP(secret, pairEndingAt(end), { now })).toEqual({
        ok: false,
        reason: 'mismatch',
      });
    }
    const futureOnly = { now, window: { past: 0, future: 3 } };
    expect(verifyConsecutiveTOTP(secret, pairEndingAt(C), futureOnly)).toMatchObject({ ok: true });
    expect(verifyConsecutiveTOTP(secret, pairEndingAt(C + 3), futureOnly)).toMatchObject({
      ok: true,
    });
    expect(verifyConsecutiveTOTP(secret, pairEndingAt(C - 1), futureOnly)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('honours afterStep: both steps must be after it (replayed otherwise)', () => {
    const pair = [codeAt(C - 1), codeAt(C)] as const;
    expect(verifyConsecutiveTOTP(secret, pair, { now, afterStep: C - 2 })).toEqual({
      ok: true,
      step: C,
      drift: 0,
    });
    // The first code's step was already used: replayed, not only the second's.
    expect(verifyConsecutiveTOTP(secret, pair, { now, afterStep: C - 1 })).toEqual({
      ok: false,
      reason: 'replayed',
    });
    expect(verifyConsecutiveTOTP(secret, pair, { now, afterStep: C })).toEqual({
      ok: false,
      reason: 'replayed',
    });
    expect(verifyConsecutiveTOTP(secret, pair, { now, afterStep: C + 5 })).toEqual({
      ok: false,
      reason: 'replayed',
    });
    // A pair that is not in the window at all is a mismatch, not a replay.
    expect(
      verifyConsecutiveTOTP(secret, [codeAt(C - 21), codeAt(C - 20)], { now, afterStep: C }),
    ).toEqual({ ok: false, reason: 'mismatch' });
  });

  it.each([
    ['12345', '123456'],
    ['123456', '1234567'],
    ['12345a', '123456'],
    ['', ''],
    [' 23456', '123456'],
  ] as const)('reports %j, %j as malformed', (a, b) => {
    expect(verifyConsecutiveTOTP(secret, [a, b], { now })).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('uses the key parameters for both codes', () => {
    const params = { algorithm: 'SHA512', digits: 8, period: 60, epoch: 1000 } as const;
    const t = 1_900_000_000_000;
    const pair = [
      generateTOTP(secret, { ...params, now: t - 60_000 }),
      generateTOTP(secret, { ...params, now: t }),
    ] as const;
    const step = Math.floor((t / 1000 - 1000) / 60);
    expect(verifyConsecutiveTOTP(secret, pair, { ...params, now: t })).toEqual({
      ok: true,
      step,
      drift: 0,
    });
    expect(verifyConsecutiveTOTP(secret, pair, { now: t, digits: 8 })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('binds any device offset within the window, with the documented drift', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 64 }),
        fc.constantFrom<HashAlgorithm>('SHA1', 'SHA256', 'SHA512'),
        fc.constantFrom<Digits>(6, 7, 8),
        fc.integer({ min: 600, max: 4_000_000_000 }),
        fc.integer({ min: -10, max: 10 }),
        (key, algorithm, digits, seconds, offset) => {
          const current = Math.floor(seconds / 30);
          const end = current + offset;
          const code = (s: number): string => referenceHOTP(key, s, algorithm, digits);
          const options = { now: seconds * 1000, algorithm, digits };
          const result = verifyConsecutiveTOTP(key, [code(end - 1), code(end)], options);
          if (code(end - 1) === code(end)) {
            expect(result).toEqual({ ok: false, reason: 'same_code' });
            return;
          }
          expect(result).toEqual({ ok: true, step: end, drift: offset >= 0 ? offset : offset + 1 });
          expect(verifyConsecutiveTOTP(key, [code(end), code(end - 1)], options).ok).toBe(false);
        },
      ),
      { numRuns: 100 },
    );
  });
});
