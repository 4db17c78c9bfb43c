import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildKeyURI,
  decodeBase32,
  encodeBase32,
  KeyURIError,
  parseKeyURI,
  type Digits,
  type HashAlgorithm,
  type KeyURIErrorCode,
} from '../src/index.ts';
import { toHex, utf8 } from './helpers/reference.ts';

/** "Hello!" followed by 0xDEADBEEF: the secret of Google's example. */
const hello = Uint8Array.from([0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x21, 0xde, 0xad, 0xbe, 0xef]);
const GOOGLE = 'otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example';
/** A distinctive secret for the rejection tests (20 bytes). */
const SECRET = 'KRSXG5DTMVRXEZLUKRSXG5DTMVRXEZLU';

describe('parseKeyURI: key URIs seen in the wild', () => {
  it("reads Google's example, filling in every default", () => {
    expect(parseKeyURI(GOOGLE)).toEqual({
      type: 'totp',
      secret: hello,
      accountName: 'alice@google.com',
      issuer: 'Example',
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
    });
  });

  it('reads a label with no issuer, with or without an issuer parameter', () => {
    expect(parseKeyURI('otpauth://totp/alice@google.com?secret=JBSWY3DPEHPK3PXP')).toMatchObject({
      accountName: 'alice@google.com',
      issuer: undefined,
    });
    expect(
      parseKeyURI('otpauth://totp/alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example'),
    ).toMatchObject({ accountName: 'alice@google.com', issuer: 'Example' });
  });

  it('reads %20 for spaces (the Google Authenticator wiki example)', () => {
    const uri =
      'otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ' +
      '&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30';
    expect(parseKeyURI(uri)).toEqual({
      type: 'totp',
      secret: decodeBase32('HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ'),
      accountName: 'john.doe@email.com',
      issuer: 'ACME Co',
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
    });
  });

  it('reads + as a space in parameters but as a plus in the label', () => {
    const uri =
      'otpauth://totp/ACME%20Co:alice+tag@example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME+Co';
    expect(parseKeyURI(uri)).toMatchObject({
      accountName: 'alice+tag@example.com',
      issuer: 'ACME Co',
    });
    expect(
      parseKeyURI('otpauth://totp/alice+tag@example.com?secret=JBSWY3DPEHPK3PXP'),
    ).toMatchObject({ accountName: 'alice+tag@example.com', issuer: undefined });
    expect(parseKeyURI('otpauth://totp/a%2Bb?secret=JBSWY3DPEHPK3PXP&issuer=x%2By')).toMatchObject({
      accountName: 'a+b',
      issuer: 'x+y',
    });
  });

  it('reads %3A (either case) as the label colon', () => {
    for (const colon of ['%3A', '%3a']) {
      expect(
        parseKeyURI(`otpauth://totp/Example${colon}alice@google.com?secret=JBSWY3DPEHPK3PXP`),
      ).toMatchObject({ accountName: 'alice@google.com', issuer: 'Example' });
    }
  });

  it('skips spaces before the account name', () => {
    for (const label of ['Example:%20alice', 'Example:%20%20alice', 'Example%3A%20alice']) {
      expect(parseKeyURI(`otpauth://totp/${label}?secret=JBSWY3DPEHPK3PXP`)).toMatchObject({
        accountName: 'alice',
        issuer: 'Example',
      });
    }
  });

  it('reads lowercase, spaced and padded secrets', () => {
    for (const secret of [
      'jbswy3dpehpk3pxp',
      'JbSwY3dPeHpK3pXp',
      'JBSW%20Y3DP%20EHPK%203PXP',
      'JBSW+Y3DP+EHPK+3PXP',
      'jbsw y3dp ehpk 3pxp'.replaceAll(' ', '%20'),
    ]) {
      expect(parseKeyURI(`otpauth://totp/a?secret=${secret}`).secret).toEqual(hello);
    }
    for (const secret of ['MZXW6YTBOI======', 'MZXW6YTBOI%3D%3D%3D%3D%3D%3D', 'mzxw6ytboi']) {
      expect(parseKeyURI(`otpauth://totp/a?secret=${secret}`).secret).toEqual(utf8('foobar'));
    }
  });

  it('reads parameters in any order and ignores unknown ones', () => {
    const expected = {
      type: 'totp',
      secret: hello,
      accountName: 'alice@google.com',
      issuer: 'Example',
      algorithm: 'SHA256',
      digits: 8,
      period: 60,
    };
    const params = [
      'secret=JBSWY3DPEHPK3PXP',
      'issuer=Example',
      'algorithm=SHA256',
      'digits=8',
      'period=60',
    ];
    for (const order of [
      params,
      [...params].reverse(),
      [params[3], params[0], params[4], params[2], params[1]],
    ]) {
      expect(parseKeyURI(`otpauth://totp/Example:alice@google.com?${order.join('&')}`)).toEqual(
        expected,
      );
    }
    const extra = `${params.join('&')}&color=red&lock=true&foo&icon=https%3A%2F%2Fx.example%2Fi.png&&`;
    expect(parseKeyURI(`otpauth://totp/Example:alice@google.com?${extra}`)).toEqual(expected);
  });

  it('reads the algorithm in any case, and the FreeOTP image parameter', () => {
    const uri =
      'otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm=sha512&image=https%3A%2F%2Fexample.com%2Flogo.png';
    expect(parseKeyURI(uri)).toMatchObject({
      algorithm: 'SHA512',
      image: 'https://example.com/logo.png',
    });
    expect(parseKeyURI(GOOGLE)).not.toHaveProperty('image');
  });

  it('reads hotp with its counter (a bigint only above 2^53 - 1)', () => {
    expect(
      parseKeyURI('otpauth://hotp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&counter=42'),
    ).toEqual({
      type: 'hotp',
      secret: hello,
      accountName: 'alice@google.com',
      issuer: 'Example',
      algorithm: 'SHA1',
      digits: 6,
      counter: 42,
    });
    const at = (counter: string) =>
      parseKeyURI(`otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&counter=${counter}`);
    expect(at('0')).toMatchObject({ counter: 0 });
    expect(at('9007199254740991')).toMatchObject({ counter: Number.MAX_SAFE_INTEGER });
    expect(at('9007199254740992')).toMatchObject({ counter: 2n ** 53n });
    expect(at('18446744073709551615')).toMatchObject({ counter: 2n ** 64n - 1n });
    expect(at('42')).not.toHaveProperty('period');
  });

  it('reads the type and scheme in any case', () => {
    expect(parseKeyURI('OTPAUTH://TOTP/a?secret=JBSWY3DPEHPK3PXP')).toMatchObject({
      type: 'totp',
    });
  });
});

describe('parseKeyURI: rejections', () => {
  const ok = `otpauth://totp/Example:alice?secret=${SECRET}&issuer=Example`;
  const cases: [KeyURIErrorCode, string][] = [
    ['ERR_URI_MALFORMED', ''],
    ['ERR_URI_MALFORMED', `secret=${SECRET}`],
    ['ERR_URI_MALFORMED', `otpauth:totp/Example:alice?secret=${SECRET}`],
    ['ERR_URI_MALFORMED', `otpauth://totp?secret=${SECRET}`],
    ['ERR_URI_MALFORMED', `otpauth://totp/Ex%E0%A4%A:alice?secret=${SECRET}`],
    ['ERR_URI_MALFORMED', `otpauth://totp/Example:alice?secret=${SECRET}%ZZ`],
    ['ERR_URI_MALFORMED', `otpauth://totp/Example:alice?secret=${SECRET}&secret=${SECRET}`],
    ['ERR_URI_MALFORMED', `otpauth://totp/Example:alice?secret=${SECRET}&digits=6&digits=8`],
    ['ERR_URI_MALFORMED', `${ok}&pad=${'x'.repeat(8192)}`],
    // A secret pasted without its "=" is a parameter name, never quoted.
    ['ERR_URI_MALFORMED', `${ok}&secret${SECRET}&secret${SECRET}`],
    ['ERR_URI_MALFORMED', `${ok}&secret${SECRET}=%ZZ`],
    ['ERR_URI_SCHEME', `http://totp/Example:alice?secret=${SECRET}`],
    ['ERR_URI_SCHEME', `otpauth2://totp/Example:alice?secret=${SECRET}`],
    ['ERR_URI_SCHEME', `otp://totp/Example:alice?secret=${SECRET}`],
    ['ERR_URI_TYPE', `otpauth://motp/Example:alice?secret=${SECRET}`],
    ['ERR_URI_TYPE', `otpauth://totp2/Example:alice?secret=${SECRET}`],
    ['ERR_URI_TYPE', `otpauth:///Example:alice?secret=${SECRET}`],
    ['ERR_URI_LABEL', `otpauth://totp/?secret=${SECRET}`],
    ['ERR_URI_LABEL', `otpauth://totp/Example:alice:bob?secret=${SECRET}`],
    ['ERR_URI_LABEL', `otpauth://totp/Example%3Aalice%3Abob?secret=${SECRET}`],
    ['ERR_URI_LABEL', `otpauth://totp/Example:?secret=${SECRET}`],
    ['ERR_URI_LABEL', `otpauth://totp/Example:%20%20?secret=${SECRET}`],
    ['ERR_URI_LABEL', `otpauth://totp/:alice?secret=${SECRET}`],
    ['ERR_URI_SECRET', 'otpauth://totp/Example:alice?issuer=Example'],
    ['ERR_URI_SECRET', 'otpauth://totp/Example:alice?secret='],
    ['ERR_URI_SECRET', 'otpauth://totp/Example:alice?secret'],
    ['ERR_URI_SECRET', 'otpauth://totp/Example:alice?secret=%20%20'],
    ['ERR_URI_SECRET', `otpauth://totp/Example:alice?secret=${SECRET.slice(0, -1)}1`],
    ['ERR_URI_SECRET', `otpauth://totp/Example:alice?secret=${SECRET}A`],
    ['ERR_URI_SECRET', `otpauth://totp/Example:alice?secret=${SECRET.slice(0, -2)}Z`],
    ['ERR_URI_SECRET', `otpauth://totp/Example:alice?secret=${SECRET}MY=`],
    ['ERR_URI_SECRET', `otpauth://totp/Example:alice?secret=${SECRET.slice(0, -1)}%C4%B1`], // dotless i
    ['ERR_URI_SECRET', `otpauth://totp/a?secret=${encodeBase32(new Uint8Array(1025))}`],
    ['ERR_URI_ISSUER_MISMATCH', `otpauth://totp/Example:alice?secret=${SECRET}&issuer=Other`],
    ['ERR_URI_ISSUER_MISMATCH', `otpauth://totp/Example:alice?secret=${SECRET}&issuer=example`],
    ['ERR_URI_ALGORITHM', `${ok}&algorithm=MD5`],
    ['ERR_URI_ALGORITHM', `${ok}&algorithm=SHA-1`],
    ['ERR_URI_ALGORITHM', `${ok}&algorithm=SHA224`],
    ['ERR_URI_ALGORITHM', `${ok}&algorithm=`],
    ['ERR_URI_DIGITS', `${ok}&digits=5`],
    ['ERR_URI_DIGITS', `${ok}&digits=9`],
    ['ERR_URI_DIGITS', `${ok}&digits=06`],
    ['ERR_URI_DIGITS', `${ok}&digits=6.0`],
    ['ERR_URI_DIGITS', `${ok}&digits=+6`],
    ['ERR_URI_DIGITS', `${ok}&digits=`],
    ['ERR_URI_PERIOD', `${ok}&period=0`],
    ['ERR_URI_PERIOD', `${ok}&period=-30`],
    ['ERR_URI_PERIOD', `${ok}&period=30.5`],
    ['ERR_URI_PERIOD', `${ok}&period=1e3`],
    ['ERR_URI_PERIOD', `${ok}&period=thirty`],
    ['ERR_URI_PERIOD', `${ok}&period=`],
    ['ERR_URI_PERIOD', `${ok}&period=4294967296`],
    // Issue 19, point 4: periods no authenticator app uses (10 to 120 s are).
    ['ERR_URI_PERIOD', `${ok}&period=1`],
    ['ERR_URI_PERIOD', `${ok}&period=9`],
    ['ERR_URI_PERIOD', `${ok}&period=121`],
    ['ERR_URI_PERIOD', `${ok}&period=86400`],
    ['ERR_URI_PERIOD', `${ok}&period=99999999999`],
    ['ERR_URI_COUNTER', `otpauth://hotp/Example:alice?secret=${SECRET}`],
    ['ERR_URI_COUNTER', `otpauth://hotp/Example:alice?secret=${SECRET}&counter=`],
    ['ERR_URI_COUNTER', `otpauth://hotp/Example:alice?secret=${SECRET}&counter=-1`],
    ['ERR_URI_COUNTER', `otpauth://hotp/Example:alice?secret=${SECRET}&counter=1.5`],
    ['ERR_URI_COUNTER', `otpauth://hotp/Example:alice?secret=${SECRET}&counter=0x10`],
    [
      'ERR_URI_COUNTER',
      `otpauth://hotp/Example:alice?secret=${SECRET}&counter=18446744073709551616`,
    ],
    ['ERR_URI_COUNTER', `otpauth://hotp/Example:alice?secret=${SECRET}&counter=${'9'.repeat(25)}`],
  ];

  it('accepts the base URI the rejections are built from', () => {
    expect(parseKeyURI(ok)).toMatchObject({ accountName: 'alice', issuer: 'Example' });
  });

  const named = cases.map(([code, uri]) => {
    const shown = uri.length > 120 ? `${uri.slice(0, 100)}… (${uri.length} characters)` : uri;
    return [code, shown, uri] as const;
  });

  it.each(named)('%s: %s', (code, _, uri) => {
    let error: unknown;
    try {
      parseKeyURI(uri);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KeyURIError);
    expect(error).toBeInstanceOf(Error);
    const { name, message } = error as KeyURIError;
    expect((error as KeyURIError).code).toBe(code);
    expect(name).toBe('KeyURIError');
    expect(message.length).toBeGreaterThan(0);
    for (const hidden of [
      SECRET,
      SECRET.toLowerCase(),
      SECRET.slice(0, 12),
      toHex(decodeBase32(SECRET)),
    ]) {
      expect(message).not.toContain(hidden);
      expect(String(error)).not.toContain(hidden);
    }
  });

  it('names the field in the message', () => {
    const messageOf = (uri: string): string => {
      try {
        parseKeyURI(uri);
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error('expected a rejection');
    };
    expect(messageOf(`${ok}&digits=9`)).toMatch(/"digits"/);
    expect(messageOf(`${ok}&period=0`)).toMatch(/"period"/);
    expect(messageOf(`${ok}&algorithm=MD5`)).toMatch(/"algorithm"/);
    expect(messageOf('otpauth://totp/a?secret=1')).toMatch(/"secret"/);
    expect(messageOf(`otpauth://hotp/a?secret=${SECRET}`)).toMatch(/"counter"/);
    expect(messageOf(`otpauth://totp/a:b:c?secret=${SECRET}`)).toMatch(/label/);
  });
});

describe('buildKeyURI', () => {
  it("reproduces Google's example with every parameter spelt out", () => {
    expect(buildKeyURI({ secret: hello, issuer: 'Example', accountName: 'alice@google.com' })).toBe(
      `${GOOGLE}&algorithm=SHA1&digits=6&period=30`,
    );
  });

  it('percent-encodes spaces as %20, never +, and a plus as %2B', () => {
    const uri = buildKeyURI({ secret: hello, issuer: 'ACME Co', accountName: 'john doe+x@a.b' });
    expect(uri).toBe(
      'otpauth://totp/ACME%20Co:john%20doe%2Bx@a.b?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co' +
        '&algorithm=SHA1&digits=6&period=30',
    );
  });

  it('omits the issuer when there is none', () => {
    expect(buildKeyURI({ secret: hello, accountName: 'alice' })).toBe(
      'otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30',
    );
  });

  it('writes the secret as unpadded uppercase base32', () => {
    const uri = buildKeyURI({ secret: utf8('foobar'), accountName: 'a' });
    expect(uri).toContain('?secret=MZXW6YTBOI&');
    expect(uri).not.toContain('=MZXW6YTBOI=');
  });

  it('writes hotp with a counter (number or bigint) and no period', () => {
    expect(
      buildKeyURI({
        type: 'hotp',
        secret: hello,
        accountName: 'a',
        counter: 2n ** 64n - 1n,
        digits: 8,
      }),
    ).toBe(
      'otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&digits=8&counter=18446744073709551615',
    );
    expect(buildKeyURI({ type: 'hotp', secret: hello, accountName: 'a' })).toMatch(/&counter=0$/);
  });

  it('writes the image parameter encoded', () => {
    expect(
      buildKeyURI({ secret: hello, accountName: 'a', image: 'https://x.example/a b.png?s=1&t=2' }),
    ).toMatch(/&image=https%3A%2F%2Fx\.example%2Fa%20b\.png%3Fs%3D1%26t%3D2$/);
  });

  it.each([
    ['accountName', { accountName: 'alice:bob' }],
    ['accountName', { accountName: ':' }],
    ['issuer', { accountName: 'alice', issuer: 'Ex:ample' }],
    ['accountName', { accountName: ' alice' }],
    ['accountName', { accountName: '\talice' }],
    ['accountName', { accountName: '\u00a0alice' }],
    ['accountName', { accountName: '\u2028alice' }],
    ['issuer', { accountName: 'alice', issuer: ' Example' }],
    ['issuer', { accountName: 'alice', issuer: '\u3000Example' }],
    ['accountName', { accountName: '' }],
    ['issuer', { accountName: 'alice', issuer: '' }],
    ['accountName', { accountName: 'a\ud800b' }],
    ['issuer', { accountName: 'alice', issuer: '\udc00' }],
    ['accountName', { accountName: 'a'.repeat(1025) }],
  ])('rejects a bad %s with a RangeError naming it', (field, input) => {
    expect(() => buildKeyURI({ secret: hello, ...input })).toThrow(RangeError);
    expect(() => buildKeyURI({ secret: hello, ...input })).toThrow(`"${field}"`);
  });

  it('rejects any colon, and any leading white space, in generated names', () => {
    const name = fc.string({ unit: 'grapheme', maxLength: 10 });
    fc.assert(
      fc.property(name, name, (before, after) => {
        const colon = `${before}:${after}`;
        expect(() => buildKeyURI({ secret: hello, accountName: colon })).toThrow(RangeError);
        expect(() => buildKeyURI({ secret: hello, accountName: 'a', issuer: colon })).toThrow(
          /"issuer"/,
        );
      }),
      { numRuns: 100 },
    );
    fc.assert(
      fc.property(
        fc.constantFrom(
          ' ',
          '\t',
          '\n',
          '\r',
          '\v',
          '\f',
          '\u00a0',
          '\u1680',
          '\u2000',
          '\u2028',
          '\u3000',
          '\ufeff',
        ),
        name,
        (space, rest) => {
          expect(() => buildKeyURI({ secret: hello, accountName: space + rest })).toThrow(
            /"accountName"/,
          );
          expect(() =>
            buildKeyURI({ secret: hello, accountName: 'a', issuer: space + rest }),
          ).toThrow(/"issuer"/);
        },
      ),
      { numRuns: 100 },
    );
  });
});

/** Any Unicode scalar value (no lone surrogates), as a one-character string. */
const scalar = fc
  .integer({ min: 0, max: 0x10ffff - 0x800 })
  .map((n) => String.fromCodePoint(n < 0xd800 ? n : n + 0x800));
/** Characters with a meaning in URIs or in form encoding, and some look-alikes. */
const uriChars = fc.constantFrom(
  '%',
  '%20',
  '%3A',
  '&',
  '=',
  '+',
  '#',
  '?',
  '/',
  '\\',
  ' ',
  '@',
  '"',
  "'",
  '<',
  '>',
  '[',
  ']',
  '\u0000',
  '\u00a0',
  '\uff1a',
  'é',
  'e\u0301',
  '👩‍💻',
  '🇫🇷',
);
const labelPart = fc
  .string({
    unit: fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }), scalar, uriChars),
    minLength: 1,
    maxLength: 20,
  })
  // No colon, no leading white space, no control or format characters: what buildKeyURI accepts.
  .filter(
    (s) =>
      !s.includes(':') &&
      !/^\s/.test(s) &&
      !/[\u0000-\u001f\u007f-\u009f]/.test(s) &&
      !/\p{Cf}/u.test(s),
  );

describe('buildKeyURI → parseKeyURI', () => {
  it('round-trips arbitrary Unicode issuers and account names, and every parameter', () => {
    fc.assert(
      fc.property(
        labelPart,
        fc.option(labelPart, { nil: undefined }),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.constantFrom<HashAlgorithm>('SHA1', 'SHA256', 'SHA512'),
        fc.constantFrom<Digits>(6, 7, 8),
        fc.oneof(
          fc.record({
            type: fc.constant('totp' as const),
            period: fc.integer({ min: 10, max: 120 }),
          }),
          fc.record({
            type: fc.constant('hotp' as const),
            counter: fc.oneof(fc.maxSafeNat(), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
          }),
        ),
        fc.option(fc.webUrl(), { nil: undefined }),
        (accountName, issuer, secret, algorithm, digits, kind, image) => {
          const input = {
            secret,
            accountName,
            algorithm,
            digits,
            ...kind,
            ...(issuer === undefined ? {} : { issuer }),
            ...(image === undefined ? {} : { image }),
          };
          const uri = buildKeyURI(input);
          expect(uri).not.toMatch(/[\s+]/); // spaces as %20; no raw white space
          const parsed = parseKeyURI(uri);
          expect(parsed.accountName).toBe(accountName);
          expect(parsed.issuer).toBe(issuer);
          expect(parsed.secret).toEqual(secret);
          expect(parsed.algorithm).toBe(algorithm);
          expect(parsed.digits).toBe(digits);
          expect(parsed.type).toBe(kind.type);
          if (parsed.type === 'totp')
            expect(parsed.period).toBe((kind as { period: number }).period);
          if (parsed.type === 'hotp') {
            expect(BigInt(parsed.counter)).toBe(
              BigInt((kind as { counter: number | bigint }).counter),
            );
          }
          expect(parsed.image).toBe(image);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('strict parsing: ASCII-only names and values, one spelling per number, no control characters', () => {
  const ok = `otpauth://totp/Example:alice?secret=${SECRET}&issuer=Example`;
  const code = (uri: string) => {
    try {
      parseKeyURI(uri);
      return 'accepted';
    } catch (error) {
      return (error as KeyURIError).code;
    }
  };

  it('compares parameter names and values in ASCII only', () => {
    // U+017F LONG S upper-cases to 'S'; U+212A KELVIN SIGN lower-cases to 'k'.
    expect(code(`${ok}&algorithm=%C5%BFha256`)).toBe('ERR_URI_ALGORITHM');
    expect(code(`${ok}&algorithm=sha256`)).toBe('accepted');
    // A non-ASCII look-alike of "secret" is an unknown parameter, not the secret.
    expect(code(`otpauth://totp/Example:alice?%C5%BFecret=${SECRET}`)).toBe('ERR_URI_SECRET');
    expect(code(`otpauth://%E2%84%AAotp/Example:alice?secret=${SECRET}`)).toBe('ERR_URI_TYPE');
  });

  it('refuses leading zeros in period and counter', () => {
    expect(code(`${ok}&period=0000030`)).toBe('ERR_URI_PERIOD');
    expect(code(`${ok}&period=030`)).toBe('ERR_URI_PERIOD');
    expect(code(`${ok}&period=30`)).toBe('accepted');
    const hotp = `otpauth://hotp/Example:alice?secret=${SECRET}&counter=`;
    expect(code(`${hotp}007`)).toBe('ERR_URI_COUNTER');
    expect(code(`${hotp}00`)).toBe('ERR_URI_COUNTER');
    expect(code(`${hotp}0`)).toBe('accepted');
    expect(code(`${hotp}7`)).toBe('accepted');
  });

  const controls = [0x00, 0x09, 0x0a, 0x0d, 0x1b, 0x1f, 0x7f, 0x80, 0x85, 0x9f];

  it('refuses control characters (C0, DEL, C1) in the label and the issuer when parsing', () => {
    for (const c of controls) {
      const enc = encodeURIComponent(String.fromCharCode(c));
      expect(code(`otpauth://totp/Example:al${enc}ice?secret=${SECRET}`), `U+${c}`).toBe(
        'ERR_URI_LABEL',
      );
      expect(code(`otpauth://totp/Ex${enc}ample:alice?secret=${SECRET}`), `U+${c}`).toBe(
        'ERR_URI_LABEL',
      );
      expect(code(`otpauth://totp/alice?secret=${SECRET}&issuer=Ex${enc}`), `U+${c}`).toBe(
        'ERR_URI_LABEL',
      );
    }
    // The neighbours of the ranges are fine.
    for (const c of [0x20, 0x7e, 0xa0]) {
      const enc = encodeURIComponent(String.fromCharCode(c));
      expect(code(`otpauth://totp/Example:al${enc}ice?secret=${SECRET}`)).toBe('accepted');
    }
  });

  it('refuses control characters in the account name and the issuer when building', () => {
    const secret = decodeBase32(SECRET);
    for (const c of controls) {
      const bad = `al${String.fromCharCode(c)}ice`;
      expect(() => buildKeyURI({ secret, accountName: bad })).toThrow(
        new RangeError('"accountName" must not contain control characters'),
      );
      expect(() => buildKeyURI({ secret, accountName: 'alice', issuer: bad })).toThrow(
        new RangeError('"issuer" must not contain control characters'),
      );
    }
  });
});
