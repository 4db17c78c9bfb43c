/**
 * Issue 12, the property: no diagnosis ever makes completeEnrollment accept a
 * pair that the old rule (verifyConsecutiveTOTP with the enrollment's own
 * parameters, inside bindingWindow) refused, unless policy.acceptAppParameters
 * is on and the pair matches the parameters bound, inside the same window.
 * Pairs come from the pending secret at any clock offset up to two days,
 * under every parameter variant, from the replaced enrollment, from an active
 * factor, and at random; each run is a fresh user on MemoryStore.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createMFA,
  decodeBase32,
  generateTOTP,
  MemoryStore,
  plaintextCipher,
  verifyConsecutiveTOTP,
  type Digits,
  type FactorParams,
  type HashAlgorithm,
} from '../../src/index.ts';
import { NO_PROOFS } from '../helpers/mfa.ts';

const T0 = 1_750_000_020_000;
const WINDOW = 10;

const params = fc.record({
  algorithm: fc.constantFrom<HashAlgorithm>('SHA1', 'SHA256', 'SHA512'),
  digits: fc.constantFrom<Digits>(6, 7, 8),
  period: fc.constantFrom(30, 60),
});

type Source = 'pending' | 'previous' | 'factor' | 'random';

const scenario = fc.record({
  factor: params,
  accept: fc.boolean(),
  source: fc.constantFrom<Source>('pending', 'pending', 'pending', 'previous', 'factor', 'random'),
  // The parameters the device uses: the factor's, the defaults, or one of them reset.
  variant: fc.constantFrom('same', 'defaults', 'algorithm', 'digits', 'period'),
  // The device clock's offset: mostly inside the window, else up to two days.
  offsetSeconds: fc.oneof(
    fc.integer({ min: -330, max: 330 }),
    fc.integer({ min: -172_800, max: 172_800 }),
  ),
  random: fc.tuple(fc.nat(99_999_999), fc.nat(99_999_999)),
  now: fc.integer({ min: 0, max: 10 ** 9 }),
});

function variantOf(p: FactorParams, variant: string): FactorParams {
  switch (variant) {
    case 'defaults':
      return { algorithm: 'SHA1', digits: 6, period: 30 };
    case 'algorithm':
      return { ...p, algorithm: 'SHA1' };
    case 'digits':
      return { ...p, digits: 6 };
    case 'period':
      return { ...p, period: 30 };
    default:
      return p;
  }
}

describe('the enrollment diagnosis never widens what completeEnrollment accepts', () => {
  it('accepts only what the old rule accepts, or the app parameters when allowed', async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const store = new MemoryStore();
        let now = T0 + s.now;
        const mfa = createMFA({
          store,
          issuer: 'Acme',
          cipher: plaintextCipher(),
          clock: () => now,
          totp: s.factor,
          policy: {
            bindingWindow: WINDOW,
            acceptAppParameters: s.accept,
            recoveryCodeScrypt: { N: 1024, r: 1, p: 1 },
            proofs: NO_PROOFS,
          },
        });
        const user = 'u';
        const other = new Uint8Array(20).fill(3);
        await mfa.importFactor(user, { secret: other, name: 'Phone' });
        const stale = await mfa.beginEnrollment(user, { accountName: 'a' });
        now += 5_000;
        const pending = await mfa.beginEnrollment(user, { accountName: 'a' });
        const secret = decodeBase32(pending.secret);

        let codes: [string, string];
        if (s.source === 'random') {
          const len = s.factor.digits;
          codes = [
            String(s.random[0] % 10 ** len).padStart(len, '0'),
            String(s.random[1] % 10 ** len).padStart(len, '0'),
          ];
        } else {
          const source =
            s.source === 'pending'
              ? { secret, p: variantOf(s.factor, s.variant) }
              : s.source === 'previous'
                ? { secret: decodeBase32(stale.secret), p: s.factor }
                : { secret: other, p: { algorithm: 'SHA1', digits: 6, period: 30 } as const };
          const at = now + s.offsetSeconds * 1000;
          codes = [
            generateTOTP(source.secret, { ...source.p, now: at - source.p.period * 1000 }),
            generateTOTP(source.secret, { ...source.p, now: at }),
          ];
        }
        const old = verifyConsecutiveTOTP(secret, codes, { ...s.factor, now, window: WINDOW });
        const result = await mfa.completeEnrollment(user, ...codes);
        const key = result.ok ? 'ok' : result.reason;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        const factors = await mfa.listFactors(user);
        if (!result.ok) {
          expect(factors).toHaveLength(1);
          return;
        }
        expect(factors).toHaveLength(2);
        if (old.ok) {
          expect(result.parameters).toEqual(s.factor);
          return;
        }
        // Only acceptAppParameters may bind a pair the old rule refused, and
        // only under the parameters bound, inside the same window.
        expect(s.accept).toBe(true);
        expect(result.parameters).not.toEqual(s.factor);
        const under = verifyConsecutiveTOTP(secret, codes, {
          ...result.parameters,
          now,
          window: WINDOW,
        });
        expect(under.ok).toBe(true);
        expect(factors[1]).toMatchObject(result.parameters);
        seen.set('bound with app parameters', (seen.get('bound with app parameters') ?? 0) + 1);
      }),
      { seed: 20_261_130, numRuns: 150 },
    );
    // The property ran through every kind of answer it guards.
    for (const reason of [
      'ok',
      'bound with app parameters',
      'clock_skew',
      'app_ignored_parameters',
      'stale_qr',
      'existing_factor',
      'mismatch',
    ]) {
      expect(seen.get(reason) ?? 0, reason).toBeGreaterThan(0);
    }
  }, 120_000);
});
