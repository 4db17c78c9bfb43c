import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildKeyURI,
  checkKeyURICompatibility,
  KeyURIError,
  parseKeyURI,
  type Digits,
  type HashAlgorithm,
  type KeyURIWarningCode,
} from '../src/index.ts';

const secret = new TextEncoder().encode('12345678901234567890');
const B32 = 'GEZDGNBVGY3DOOJQGEZDGNBVGY3DOOJQ';
/** 16 bytes: 26 characters and 6 padding characters. */
const PADDED = 'JBSWY3DPEHPK3PXPJBSWY3DPEE======';
const codes = (input: Parameters<typeof checkKeyURICompatibility>[0]) =>
  checkKeyURICompatibility(input).map((w) => w.code);

describe('checkKeyURICompatibility on URIs', () => {
  const table: [string, KeyURIWarningCode[]][] = [
    [`otpauth://totp/Acme:alice?secret=${B32}&issuer=Acme`, []],
    [`otpauth://totp/Acme:alice?secret=${B32}&issuer=Acme&algorithm=SHA1&digits=6&period=30`, []],
    [
      `otpauth://totp/Acme:alice?secret=${B32}&issuer=Acme&algorithm=SHA256`,
      ['ALGORITHM_NOT_SHA1'],
    ],
    [`otpauth://totp/Acme:alice?secret=${B32}&issuer=Acme&algorithm=sha1`, ['ALGORITHM_LOWERCASE']],
    [
      `otpauth://totp/Acme:alice?secret=${B32}&issuer=Acme&algorithm=Sha512`,
      ['ALGORITHM_NOT_SHA1', 'ALGORITHM_LOWERCASE'],
    ],
    [`otpauth://totp/Acme:alice?secret=${B32}&issuer=Acme&digits=8`, ['DIGITS_NOT_6']],
    [`otpauth://totp/Acme:alice?secret=${B32}&issuer=Acme&period=60`, ['PERIOD_NOT_30']],
    // HOTP has no period.
    [`otpauth://hotp/Acme:alice?secret=${B32}&issuer=Acme&counter=5`, []],
    [`otpauth://totp/alice?secret=${B32}&issuer=Acme`, ['ISSUER_NOT_IN_LABEL']],
    [`otpauth://totp/Acme:alice?secret=${B32}`, ['ISSUER_PARAMETER_MISSING']],
    [`otpauth://totp/alice?secret=${B32}`, ['ISSUER_MISSING']],
    [`otpauth://totp/alice?secret=${B32}&issuer=`, ['ISSUER_MISSING']],
    [
      `otpauth://totp/alice?secret=${B32}&issuer=Acme%3AEU`,
      ['ISSUER_NOT_IN_LABEL', 'ISSUER_HAS_COLON'],
    ],
    [
      `otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEE%3D%3D%3D%3D%3D%3D&issuer=Acme`,
      ['SECRET_PADDED'],
    ],
    [
      `otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEE======&issuer=Acme`,
      ['SECRET_PADDED'],
    ],
    [
      `otpauth://totp/alice?secret=${B32}&algorithm=sha256&digits=8&period=60`,
      [
        'ALGORITHM_NOT_SHA1',
        'ALGORITHM_LOWERCASE',
        'DIGITS_NOT_6',
        'PERIOD_NOT_30',
        'ISSUER_MISSING',
      ],
    ],
  ];
  for (const [uri, expected] of table) {
    it(`${uri.replace(B32, 'SECRET')} → ${expected.join(', ') || 'no warning'}`, () => {
      expect(codes(uri)).toEqual(expected);
    });
  }

  it('gives each warning a field and a message without the secret', () => {
    const warnings = checkKeyURICompatibility(
      `otpauth://totp/alice?secret=${PADDED}&algorithm=sha256&digits=8&period=60&issuer=A%3AB`,
    );
    expect(warnings.map((w) => [w.code, w.field])).toEqual([
      ['ALGORITHM_NOT_SHA1', 'algorithm'],
      ['ALGORITHM_LOWERCASE', 'algorithm'],
      ['DIGITS_NOT_6', 'digits'],
      ['PERIOD_NOT_30', 'period'],
      ['ISSUER_NOT_IN_LABEL', 'issuer'],
      ['ISSUER_HAS_COLON', 'issuer'],
      ['SECRET_PADDED', 'secret'],
    ]);
    for (const w of warnings) {
      expect(w.message.length).toBeGreaterThan(10);
      expect(w.message).not.toContain(PADDED.slice(0, 8));
    }
  });

  it('throws the parser’s KeyURIError for a URI it rejects', () => {
    expect(() => checkKeyURICompatibility(`otpauth://totp/alice?secret=${B32}&digits=9`)).toThrow(
      expect.objectContaining({ name: 'KeyURIError', code: 'ERR_URI_DIGITS' }),
    );
  });
});

describe('checkKeyURICompatibility on parameters', () => {
  it('reports non-default parameters, issuer problems and lowercase algorithms', () => {
    expect(codes({ issuer: 'Acme' })).toEqual([]);
    expect(codes({ issuer: 'Acme', algorithm: 'SHA512', digits: 7, period: 15 })).toEqual([
      'ALGORITHM_NOT_SHA1',
      'DIGITS_NOT_6',
      'PERIOD_NOT_30',
    ]);
    expect(codes({ issuer: 'Acme', algorithm: 'sha1' })).toEqual(['ALGORITHM_LOWERCASE']);
    expect(codes({ issuer: 'Acme', type: 'hotp', period: 60 })).toEqual([]);
    expect(codes({})).toEqual(['ISSUER_MISSING']);
    expect(codes({ issuer: 'Acme: EU' })).toEqual(['ISSUER_HAS_COLON']);
  });

  it('refuses invalid parameters with TypeError / RangeError', () => {
    expect(() => checkKeyURICompatibility(null as never)).toThrow(TypeError);
    expect(() => checkKeyURICompatibility(5 as never)).toThrow(TypeError);
    expect(() => checkKeyURICompatibility({ algorithm: 'MD5' })).toThrow(RangeError);
    expect(() => checkKeyURICompatibility({ digits: 9 })).toThrow(RangeError);
    expect(() => checkKeyURICompatibility({ period: 0 })).toThrow(RangeError);
    expect(() => checkKeyURICompatibility({ type: 'motp' as never })).toThrow(RangeError);
    expect(() => checkKeyURICompatibility({ issuer: 5 as never })).toThrow(TypeError);
  });

  it('agrees with the check of the URI buildKeyURI builds from the same parameters', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<HashAlgorithm>('SHA1', 'SHA256', 'SHA512'),
        fc.constantFrom<Digits>(6, 7, 8),
        fc.constantFrom(30, 60, 15),
        fc.option(fc.constantFrom('Acme', 'Acme Co', 'Ünïcode'), { nil: undefined }),
        (algorithm, digits, period, issuer) => {
          const input = { algorithm, digits, period, ...(issuer === undefined ? {} : { issuer }) };
          const uri = buildKeyURI({ secret, accountName: 'alice', ...input });
          expect(codes(uri)).toEqual(codes(input));
        },
      ),
    );
  });
});

describe('buildKeyURI with compat', () => {
  const base = { secret, accountName: 'alice@example.com', issuer: 'Acme' };

  it('keeps the default: a string, no check', () => {
    const uri = buildKeyURI({ ...base, digits: 8 });
    expect(typeof uri).toBe('string');
    expect(parseKeyURI(uri).digits).toBe(8);
  });

  it("'warn' is gone: it throws and names checkKeyURICompatibility, which gives the warnings", () => {
    expect(() => buildKeyURI({ ...base, compat: 'warn' as never })).toThrow(
      new RangeError(
        `"compat" must be 'strict'; 'warn' was removed in 0.3: call checkKeyURICompatibility for the warnings`,
      ),
    );
    // What 'warn' returned beside the URI, from the same parameters.
    expect(codes({ ...base, algorithm: 'SHA256', period: 60 })).toEqual([
      'ALGORITHM_NOT_SHA1',
      'PERIOD_NOT_30',
    ]);
    expect(codes(base)).toEqual([]);
    const { issuer: _, ...noIssuer } = base;
    expect(codes({ ...noIssuer, type: 'totp' })).toEqual(['ISSUER_MISSING']);
  });

  it("'strict' returns the URI when there is no problem and throws ERR_URI_COMPAT otherwise", () => {
    expect(buildKeyURI({ ...base, compat: 'strict' })).toBe(buildKeyURI(base));
    let error: unknown;
    try {
      buildKeyURI({ ...base, digits: 8, period: 60, compat: 'strict' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KeyURIError);
    expect((error as KeyURIError).code).toBe('ERR_URI_COMPAT');
    expect((error as KeyURIError).message).toBe(
      'the key URI has compatibility problems: DIGITS_NOT_6, PERIOD_NOT_30',
    );
  });

  it('refuses an unknown compat mode, and still refuses a colon in the issuer as before', () => {
    expect(() => buildKeyURI({ ...base, compat: 'loose' as never })).toThrow(RangeError);
    expect(() => buildKeyURI({ ...base, compat: true as never })).toThrow(TypeError);
    expect(() => buildKeyURI({ ...base, issuer: 'A:B', compat: 'strict' })).toThrow(RangeError);
  });
});
