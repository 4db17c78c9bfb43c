import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateHOTP, verifyHOTP, type Digits, type HashAlgorithm } from '../src/index.ts';
import {
  counterBytes,
  dynamicTruncation,
  fromHex,
  referenceHOTP,
  rfc4226,
  toHex,
  utf8,
} from './helpers/reference.ts';

const secret = fromHex(rfc4226.secretHex);
const algorithms = fc.constantFrom<HashAlgorithm>('SHA1', 'SHA256', 'SHA512');
const digitCounts = fc.constantFrom<Digits>(6, 7, 8);

describe('RFC 4226 Appendix D', () => {
  it('uses the ASCII secret "12345678901234567890"', () => {
    expect(secret).toEqual(utf8('12345678901234567890'));
    expect(rfc4226.vectors.map((v) => v.counter)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  describe.each(rfc4226.vectors)('counter $counter', ({ counter, hmacHex, truncated, hotp }) => {
    it('Table 1: HMAC-SHA-1 of the 8-byte counter', () => {
      expect(toHex(hmac(sha1, secret, counterBytes(counter)))).toBe(hmacHex);
    });

    it('Table 2: dynamic truncation of the HMAC value (RFC 4226 §5.3)', () => {
      expect(dynamicTruncation(fromHex(hmacHex))).toBe(truncated);
    });

    it('Table 2: the HOTP value, with a number or a bigint counter', () => {
      expect(generateHOTP(secret, counter)).toBe(hotp);
      expect(generateHOTP(secret, BigInt(counter))).toBe(hotp);
      expect(generateHOTP(secret, counter, { algorithm: 'SHA1', digits: 6 })).toBe(hotp);
    });

    it('truncated value modulo 10^6, 10^7 and 10^8', () => {
      for (const digits of [6, 7, 8] as const) {
        const expected = String(truncated % 10 ** digits).padStart(digits, '0');
        expect(generateHOTP(secret, counter, { digits })).toBe(expected);
      }
    });

    it('verifies at its counter, and returns the counter in the type given', () => {
      expect(verifyHOTP(secret, hotp, counter)).toEqual({ ok: true, counter });
      expect(verifyHOTP(secret, hotp, BigInt(counter))).toEqual({
        ok: true,
        counter: BigInt(counter),
      });
    });
  });
});

describe('generateHOTP', () => {
  it('matches an independent node:crypto HOTP for any secret, counter, hash and length', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        algorithms,
        digitCounts,
        (key, counter, algorithm, digits) => {
          const expected = referenceHOTP(key, counter, algorithm, digits);
          expect(generateHOTP(key, counter, { algorithm, digits })).toBe(expected);
          if (counter <= BigInt(Number.MAX_SAFE_INTEGER)) {
            expect(generateHOTP(key, Number(counter), { algorithm, digits })).toBe(expected);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each([2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40, 2 ** 52 + 3, Number.MAX_SAFE_INTEGER])(
    'encodes counter %d as 8 big-endian bytes (number and bigint agree)',
    (counter) => {
      const expected = referenceHOTP(secret, counter);
      expect(generateHOTP(secret, counter)).toBe(expected);
      expect(generateHOTP(secret, BigInt(counter))).toBe(expected);
    },
  );

  it.each([2n ** 53n, 2n ** 63n, 2n ** 64n - 1n])('accepts bigint counter %s', (counter) => {
    expect(generateHOTP(secret, counter)).toBe(referenceHOTP(secret, counter));
  });

  it('rejects counters outside 0 to 2^64 - 1 and unsafe numbers', () => {
    expect(() => generateHOTP(secret, 2n ** 64n)).toThrow(RangeError);
    expect(() => generateHOTP(secret, -1n)).toThrow(RangeError);
    expect(() => generateHOTP(secret, 2 ** 53)).toThrow(RangeError);
    expect(() => generateHOTP(secret, -1)).toThrow(/"counter"/);
  });

  it('accepts a Buffer (a Uint8Array subclass) as the secret', () => {
    expect(generateHOTP(Buffer.from('12345678901234567890'), 1)).toBe('287082');
  });
});

describe('verifyHOTP', () => {
  const codes = rfc4226.vectors.map((v) => v.hotp);

  it('looks ahead exactly lookAhead counters (RFC 4226 §7.4)', () => {
    for (let k = 1; k < codes.length; k++) {
      const code = codes[k] as string;
      expect(verifyHOTP(secret, code, 0, { lookAhead: k - 1 })).toEqual({
        ok: false,
        reason: 'mismatch',
      });
      expect(verifyHOTP(secret, code, 0, { lookAhead: k })).toEqual({ ok: true, counter: k });
      expect(verifyHOTP(secret, code, 0, { lookAhead: 1000 })).toEqual({ ok: true, counter: k });
    }
  });

  it('never accepts a counter before the expected one', () => {
    expect(verifyHOTP(secret, codes[1] as string, 2, { lookAhead: 100 })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('returns the first matching counter in the look-ahead range', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 64 }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 25 }),
        digitCounts,
        (key, counter, lookAhead, offset, digits) => {
          fc.pre(counter + BigInt(offset) < 2n ** 64n);
          const code = referenceHOTP(key, counter + BigInt(offset), 'SHA1', digits);
          // Oracle: the first counter in range whose code is this one.
          let expected: bigint | undefined;
          for (let i = 0n; i <= BigInt(lookAhead) && counter + i < 2n ** 64n; i++) {
            if (referenceHOTP(key, counter + i, 'SHA1', digits) === code) {
              expected = counter + i;
              break;
            }
          }
          const result = verifyHOTP(key, code, counter, { lookAhead, digits });
          expect(result).toEqual(
            expected === undefined
              ? { ok: false, reason: 'mismatch' }
              : { ok: true, counter: expected },
          );
          if (offset <= lookAhead) expect(result.ok).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('stops at the end of the counter space instead of wrapping or throwing', () => {
    const last = 2n ** 64n - 1n;
    expect(verifyHOTP(secret, referenceHOTP(secret, last), last, { lookAhead: 10 })).toEqual({
      ok: true,
      counter: last,
    });
    // Counter 0's code must not match past the end by wrapping around.
    const code0 = codes[0] as string;
    expect(verifyHOTP(secret, code0, last, { lookAhead: 10 })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    const max = Number.MAX_SAFE_INTEGER;
    expect(verifyHOTP(secret, referenceHOTP(secret, max), max, { lookAhead: 10 })).toEqual({
      ok: true,
      counter: max,
    });
    expect(verifyHOTP(secret, code0, max, { lookAhead: 10 }).ok).toBe(false);
  });

  it.each([
    '',
    '75522',
    '7552240',
    ' 755224',
    '755224 ',
    '755224\n',
    '755 224',
    '-55224',
    '+55224',
    '75522a',
    '0x1234',
    '7.5e+5',
    '７５５２２４', // fullwidth digits
    '٧٥٥٢٢٤', // Arabic-Indic digits
    '755224'.repeat(100_000),
  ])('reports %j as malformed, not a mismatch or a throw', (code) => {
    expect(verifyHOTP(secret, code, 0, { lookAhead: 10 })).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('requires exactly `digits` digits', () => {
    const eight = generateHOTP(secret, 0, { digits: 8 });
    expect(verifyHOTP(secret, eight, 0, { digits: 8 })).toEqual({ ok: true, counter: 0 });
    expect(verifyHOTP(secret, eight, 0)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyHOTP(secret, '755224', 0, { digits: 8 })).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('compares the whole code: a wrong last digit is a mismatch', () => {
    expect(verifyHOTP(secret, '755225', 0)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyHOTP(secret, '055224', 0)).toEqual({ ok: false, reason: 'mismatch' });
  });
});
