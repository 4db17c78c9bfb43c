/**
 * Hostile inputs for every public function: each argument and option in turn
 * gets each hostile value while the others stay valid. The expected outcome
 * comes from the argument's rule: a wrong type is a TypeError, a value out of
 * range a RangeError, both naming the field; a malformed code string is a
 * result, not a throw. No message may contain the secret.
 */
import { describe, expect, it } from 'vitest';
import {
  buildKeyURI,
  createTOTPKey,
  decodeBase32,
  encodeBase32,
  generateHOTP,
  generateSecret,
  generateTOTP,
  KeyURIError,
  parseKeyURI,
  verifyConsecutiveTOTP,
  verifyHOTP,
  verifyTOTP,
} from '../src/index.ts';
import { toHex, utf8 } from './helpers/reference.ts';

const secret = utf8('12345678901234567890');
const SECRET_FORMS = [
  '12345678901234567890',
  toHex(secret),
  toHex(secret).toUpperCase(),
  encodeBase32(secret),
  encodeBase32(secret).toLowerCase(),
];
const MAX = Number.MAX_SAFE_INTEGER;

/** What an argument must do with a value. */
type Outcome = 'ok' | 'TypeError' | 'RangeError' | 'malformed' | 'KeyURIError';

/** The hostile values every argument gets. */
const COMMON: [string, unknown][] = [
  ['undefined', undefined],
  ['null', null],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['-1', -1],
  ['-0', -0],
  ['1.5', 1.5],
  ['2**53', 2 ** 53],
  ["''", ''],
  ["'6'", '6'],
  ['{}', {}],
  ['[]', []],
  ['true', true],
  ['1n', 1n],
  ['-1n', -1n],
  ['2n**64n', 2n ** 64n],
  ['a symbol', Symbol('x')],
  ['a function', () => 6],
  ['an oversized string', '7'.repeat(100_000)],
  ['the secret as base32', encodeBase32(secret)],
  ['the secret as hex', toHex(secret)],
];

/** Extra values for byte-array arguments. */
const BYTES: [string, unknown][] = [
  ['a number[]', [...secret]],
  ['an ArrayBuffer', secret.slice().buffer],
  ['a DataView', new DataView(secret.slice().buffer)],
  ['an Int8Array', new Int8Array(secret)],
  ['a Uint8ClampedArray', new Uint8ClampedArray(secret)],
  ['a Uint16Array', new Uint16Array(secret)],
  ['an empty Uint8Array', new Uint8Array(0)],
  ['a 1025-byte Uint8Array', new Uint8Array(1025)],
  ['a 1024-byte Uint8Array', new Uint8Array(1024)],
  ['a Buffer', Buffer.from(secret)],
];

// Rules: the outcome each kind of argument must give for a value.
const integer =
  (min: number, max: number, optional = true) =>
  (v: unknown): Outcome =>
    v === undefined
      ? optional
        ? 'ok'
        : 'TypeError'
      : typeof v !== 'number'
        ? 'TypeError'
        : Number.isInteger(v) && v >= min && v <= max
          ? 'ok'
          : 'RangeError';
const now = (v: unknown): Outcome =>
  v === undefined
    ? 'ok'
    : typeof v !== 'number'
      ? 'TypeError'
      : Number.isFinite(v) && v >= 0 && v <= MAX
        ? 'ok'
        : 'RangeError';
const counter = (v: unknown): Outcome =>
  typeof v === 'bigint'
    ? v >= 0n && v < 2n ** 64n
      ? 'ok'
      : 'RangeError'
    : integer(0, MAX, false)(v);
const digits = (v: unknown): Outcome =>
  v === undefined
    ? 'ok'
    : typeof v !== 'number'
      ? 'TypeError'
      : [6, 7, 8].includes(v)
        ? 'ok'
        : 'RangeError';
const algorithm = (v: unknown): Outcome =>
  v === undefined
    ? 'ok'
    : typeof v !== 'string'
      ? 'TypeError'
      : ['SHA1', 'SHA256', 'SHA512'].includes(v)
        ? 'ok'
        : 'RangeError';
const bytes =
  (min: number, max: number) =>
  (v: unknown): Outcome =>
    !(v instanceof Uint8Array)
      ? 'TypeError'
      : v.length >= min && v.length <= max
        ? 'ok'
        : 'RangeError';
const options = (v: unknown): Outcome =>
  v === undefined
    ? 'ok'
    : v === null || typeof v !== 'object' || Array.isArray(v)
      ? 'TypeError'
      : 'ok';
const code = (v: unknown): Outcome =>
  typeof v !== 'string' ? 'TypeError' : /^[0-9]{6}$/.test(v) ? 'ok' : 'malformed';
const window = (v: unknown): Outcome =>
  v !== null && typeof v === 'object' ? 'TypeError' : integer(0, 100)(v); // {} and [] lack past
const labelPart =
  (optional: boolean, max: number) =>
  (v: unknown): Outcome =>
    v === undefined && optional
      ? 'ok'
      : typeof v !== 'string'
        ? 'TypeError'
        : v.length === 0 || v.length > max || v.includes(':') || /^\s/.test(v)
          ? 'RangeError'
          : 'ok';

interface Slot {
  /** The function and argument, for the test name. */
  name: string;
  /** The field the message must name (a prefix of the quoted name). */
  field: string | ((v: unknown) => string);
  rule: (v: unknown) => Outcome;
  call: (v: unknown) => unknown;
  /** Extra values beyond COMMON. */
  extra?: [string, unknown][];
}

/** Passes a hostile value where the types forbid it. */
const any = (v: unknown): any => v;
const key = createTOTPKey(secret);
const T = 59_000;

const slots: Slot[] = [
  // generateSecret
  {
    name: 'generateSecret(options)',
    field: 'options',
    rule: options,
    call: (v) => generateSecret(any(v)),
  },
  {
    name: 'generateSecret({ bytes })',
    field: 'bytes',
    rule: integer(16, 64),
    call: (v) => generateSecret({ bytes: any(v) }),
  },
  // base32
  {
    name: 'encodeBase32(bytes)',
    field: 'bytes',
    rule: bytes(0, MAX),
    call: (v) => encodeBase32(any(v)),
    extra: BYTES,
  },
  {
    name: 'decodeBase32(text)',
    field: 'text',
    // Valid here: alphabet letters in whole groups of 8 (the oversized '7777…' is valid).
    rule: (v) =>
      typeof v !== 'string'
        ? 'TypeError'
        : /^[A-Za-z2-7]*$/.test(v) && v.length % 8 === 0
          ? 'ok'
          : 'RangeError',
    extra: [['an oversized non-base32 string', '0'.repeat(100_000)]],
    call: (v) => decodeBase32(any(v)),
  },
  // HOTP
  {
    name: 'generateHOTP(secret)',
    field: 'secret',
    rule: bytes(1, 1024),
    call: (v) => generateHOTP(any(v), 0),
    extra: BYTES,
  },
  {
    name: 'generateHOTP(counter)',
    field: 'counter',
    rule: counter,
    call: (v) => generateHOTP(secret, any(v)),
  },
  {
    name: 'generateHOTP(options)',
    field: 'options',
    rule: options,
    call: (v) => generateHOTP(secret, 0, any(v)),
  },
  {
    name: 'generateHOTP({ algorithm })',
    field: 'algorithm',
    rule: algorithm,
    call: (v) => generateHOTP(secret, 0, { algorithm: any(v) }),
  },
  {
    name: 'generateHOTP({ digits })',
    field: 'digits',
    rule: digits,
    call: (v) => generateHOTP(secret, 0, { digits: any(v) }),
  },
  {
    name: 'verifyHOTP(secret)',
    field: 'secret',
    rule: bytes(1, 1024),
    call: (v) => verifyHOTP(any(v), '755224', 0),
    extra: BYTES,
  },
  {
    name: 'verifyHOTP(code)',
    field: 'code',
    rule: code,
    call: (v) => verifyHOTP(secret, any(v), 0),
  },
  {
    name: 'verifyHOTP(counter)',
    field: 'counter',
    rule: counter,
    call: (v) => verifyHOTP(secret, '755224', any(v)),
  },
  {
    name: 'verifyHOTP(options)',
    field: 'options',
    rule: options,
    call: (v) => verifyHOTP(secret, '755224', 0, any(v)),
  },
  {
    name: 'verifyHOTP({ lookAhead })',
    field: 'lookAhead',
    rule: integer(0, 1000),
    call: (v) => verifyHOTP(secret, '755224', 0, { lookAhead: any(v) }),
  },
  {
    name: 'verifyHOTP({ algorithm })',
    field: 'algorithm',
    rule: algorithm,
    call: (v) => verifyHOTP(secret, '755224', 0, { algorithm: any(v) }),
  },
  {
    name: 'verifyHOTP({ digits })',
    field: 'digits',
    rule: (v) => (digits(v) === 'ok' && v !== undefined && v !== 6 ? 'malformed' : digits(v)),
    call: (v) => verifyHOTP(secret, '755224', 0, { digits: any(v) }),
  },
  // TOTP
  {
    name: 'generateTOTP(secret)',
    field: 'secret',
    rule: bytes(1, 1024),
    call: (v) => generateTOTP(any(v), { now: T }),
    extra: BYTES,
  },
  {
    name: 'generateTOTP(options)',
    field: 'options',
    rule: options,
    call: (v) => generateTOTP(secret, any(v)),
  },
  {
    name: 'generateTOTP({ now })',
    field: 'now',
    rule: now,
    call: (v) => generateTOTP(secret, { now: any(v) }),
  },
  {
    name: 'generateTOTP({ algorithm })',
    field: 'algorithm',
    rule: algorithm,
    call: (v) => generateTOTP(secret, { now: T, algorithm: any(v) }),
  },
  {
    name: 'generateTOTP({ digits })',
    field: 'digits',
    rule: digits,
    call: (v) => generateTOTP(secret, { now: T, digits: any(v) }),
  },
  {
    name: 'generateTOTP({ period })',
    field: 'period',
    rule: integer(1, 2 ** 32 - 1),
    call: (v) => generateTOTP(secret, { now: T, period: any(v) }),
  },
  {
    name: 'generateTOTP({ epoch })',
    field: 'epoch',
    rule: integer(0, Math.floor(MAX / 1000)),
    call: (v) => generateTOTP(secret, { now: T, epoch: any(v) }),
  },
  {
    name: 'verifyTOTP(secret)',
    field: 'secret',
    rule: bytes(1, 1024),
    call: (v) => verifyTOTP(any(v), '287082', { now: T }),
    extra: BYTES,
  },
  {
    name: 'verifyTOTP(code)',
    field: 'code',
    rule: code,
    call: (v) => verifyTOTP(secret, any(v), { now: T }),
  },
  {
    name: 'verifyTOTP(options)',
    field: 'options',
    rule: options,
    call: (v) => verifyTOTP(secret, '287082', any(v)),
  },
  {
    name: 'verifyTOTP({ now })',
    field: 'now',
    rule: now,
    call: (v) => verifyTOTP(secret, '287082', { now: any(v) }),
  },
  {
    name: 'verifyTOTP({ window })',
    field: 'window',
    rule: window,
    call: (v) => verifyTOTP(secret, '287082', { now: T, window: any(v) }),
  },
  {
    name: 'verifyTOTP({ window: { past } })',
    field: 'window.past',
    rule: integer(0, 100, false),
    call: (v) => verifyTOTP(secret, '287082', { now: T, window: { past: any(v), future: 1 } }),
  },
  {
    name: 'verifyTOTP({ window: { future } })',
    field: 'window.future',
    rule: integer(0, 100, false),
    call: (v) => verifyTOTP(secret, '287082', { now: T, window: { past: 1, future: any(v) } }),
  },
  {
    name: 'verifyTOTP({ afterStep })',
    field: 'afterStep',
    rule: integer(-1, MAX),
    call: (v) => verifyTOTP(secret, '287082', { now: T, afterStep: any(v) }),
  },
  {
    name: 'verifyTOTP({ algorithm })',
    field: 'algorithm',
    rule: algorithm,
    call: (v) => verifyTOTP(secret, '287082', { now: T, algorithm: any(v) }),
  },
  {
    name: 'verifyTOTP({ digits })',
    field: 'digits',
    rule: (v) => (digits(v) === 'ok' && v !== undefined && v !== 6 ? 'malformed' : digits(v)),
    call: (v) => verifyTOTP(secret, '287082', { now: T, digits: any(v) }),
  },
  {
    name: 'verifyTOTP({ period })',
    field: 'period',
    rule: integer(1, 2 ** 32 - 1),
    call: (v) => verifyTOTP(secret, '287082', { now: T, period: any(v) }),
  },
  {
    name: 'verifyTOTP({ epoch })',
    field: 'epoch',
    rule: integer(0, Math.floor(MAX / 1000)),
    call: (v) => verifyTOTP(secret, '287082', { now: T, epoch: any(v) }),
  },
  // TOTPKey
  {
    name: 'createTOTPKey(secret)',
    field: 'secret',
    rule: bytes(1, 1024),
    call: (v) => createTOTPKey(any(v)),
    extra: BYTES,
  },
  {
    name: 'createTOTPKey(params)',
    field: 'params',
    rule: options,
    call: (v) => createTOTPKey(secret, any(v)),
  },
  {
    name: 'createTOTPKey({ algorithm })',
    field: 'algorithm',
    rule: algorithm,
    call: (v) => createTOTPKey(secret, { algorithm: any(v) }),
  },
  {
    name: 'createTOTPKey({ digits })',
    field: 'digits',
    rule: digits,
    call: (v) => createTOTPKey(secret, { digits: any(v) }),
  },
  {
    name: 'createTOTPKey({ period })',
    field: 'period',
    rule: integer(1, 2 ** 32 - 1),
    call: (v) => createTOTPKey(secret, { period: any(v) }),
  },
  {
    name: 'createTOTPKey({ epoch })',
    field: 'epoch',
    rule: integer(0, Math.floor(MAX / 1000)),
    call: (v) => createTOTPKey(secret, { epoch: any(v) }),
  },
  { name: 'key.generate(now)', field: 'now', rule: now, call: (v) => key.generate(any(v)) },
  { name: 'key.step(now)', field: 'now', rule: now, call: (v) => key.step(any(v)) },
  {
    name: 'key.verify(code)',
    field: 'code',
    rule: code,
    call: (v) => key.verify(any(v), { now: T }),
  },
  {
    name: 'key.verify(options)',
    field: 'options',
    rule: options,
    call: (v) => key.verify('287082', any(v)),
  },
  {
    name: 'key.verify({ now })',
    field: 'now',
    rule: now,
    call: (v) => key.verify('287082', { now: any(v) }),
  },
  {
    name: 'key.verify({ window })',
    field: 'window',
    rule: window,
    call: (v) => key.verify('287082', { now: T, window: any(v) }),
  },
  {
    name: 'key.verify({ afterStep })',
    field: 'afterStep',
    rule: integer(-1, MAX),
    call: (v) => key.verify('287082', { now: T, afterStep: any(v) }),
  },
  // verifyConsecutiveTOTP
  {
    name: 'verifyConsecutiveTOTP(secret)',
    field: 'secret',
    rule: bytes(1, 1024),
    call: (v) => verifyConsecutiveTOTP(any(v), ['755224', '287082'], { now: T }),
    extra: BYTES,
  },
  {
    name: 'verifyConsecutiveTOTP(codes)',
    field: 'codes',
    rule: () => 'TypeError',
    call: (v) => verifyConsecutiveTOTP(secret, any(v), { now: T }),
    extra: [
      ['one code', ['755224']],
      ['three codes', ['755224', '287082', '359152']],
      ['two numbers', [755224, 287082]],
      ['a sparse pair', [, '287082']],
      ['a string pair as one string', '755224287082'],
      ['an array-like', { 0: '755224', 1: '287082', length: 2 }],
    ],
  },
  {
    name: 'verifyConsecutiveTOTP(codes[0])',
    field: 'codes',
    rule: (v) => (code(v) === 'ok' ? 'ok' : code(v)),
    call: (v) => verifyConsecutiveTOTP(secret, [any(v), '287082'], { now: T }),
  },
  {
    name: 'verifyConsecutiveTOTP(codes[1])',
    field: 'codes',
    rule: (v) => (code(v) === 'ok' ? 'ok' : code(v)),
    call: (v) => verifyConsecutiveTOTP(secret, ['755224', any(v)], { now: T }),
  },
  {
    name: 'verifyConsecutiveTOTP(options)',
    field: 'options',
    rule: options,
    call: (v) => verifyConsecutiveTOTP(secret, ['755224', '287082'], any(v)),
  },
  {
    name: 'verifyConsecutiveTOTP({ now })',
    field: 'now',
    rule: now,
    call: (v) => verifyConsecutiveTOTP(secret, ['755224', '287082'], { now: any(v) }),
  },
  {
    name: 'verifyConsecutiveTOTP({ window })',
    field: 'window',
    rule: window,
    call: (v) => verifyConsecutiveTOTP(secret, ['755224', '287082'], { now: T, window: any(v) }),
  },
  {
    name: 'verifyConsecutiveTOTP({ afterStep })',
    field: 'afterStep',
    rule: integer(-1, MAX),
    call: (v) => verifyConsecutiveTOTP(secret, ['755224', '287082'], { now: T, afterStep: any(v) }),
  },
  {
    name: 'verifyConsecutiveTOTP({ algorithm })',
    field: 'algorithm',
    rule: algorithm,
    call: (v) => verifyConsecutiveTOTP(secret, ['755224', '287082'], { now: T, algorithm: any(v) }),
  },
  {
    name: 'verifyConsecutiveTOTP({ digits })',
    field: 'digits',
    rule: (v) => (digits(v) === 'ok' && v !== undefined && v !== 6 ? 'malformed' : digits(v)),
    call: (v) => verifyConsecutiveTOTP(secret, ['755224', '287082'], { now: T, digits: any(v) }),
  },
  {
    name: 'verifyConsecutiveTOTP({ period })',
    field: 'period',
    rule: integer(1, 2 ** 32 - 1),
    call: (v) => verifyConsecutiveTOTP(secret, ['755224', '287082'], { now: T, period: any(v) }),
  },
  {
    name: 'verifyConsecutiveTOTP({ epoch })',
    field: 'epoch',
    rule: integer(0, Math.floor(MAX / 1000)),
    call: (v) => verifyConsecutiveTOTP(secret, ['755224', '287082'], { now: T, epoch: any(v) }),
  },
  // Key URIs
  {
    name: 'buildKeyURI(input)',
    // An object without a secret fails on its first required field.
    field: (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? 'secret' : 'input'),
    rule: () => 'TypeError',
    call: (v) => buildKeyURI(any(v)),
  },
  {
    name: 'buildKeyURI({ type })',
    field: 'type',
    rule: (v) =>
      v === undefined || v === 'totp' || v === 'hotp'
        ? 'ok'
        : typeof v === 'string'
          ? 'RangeError'
          : 'TypeError',
    call: (v) => buildKeyURI({ secret, accountName: 'alice', type: any(v) }),
  },
  {
    name: 'buildKeyURI({ secret })',
    field: 'secret',
    rule: bytes(1, 1024),
    call: (v) => buildKeyURI({ secret: any(v), accountName: 'alice' }),
    extra: BYTES,
  },
  {
    name: 'buildKeyURI({ accountName })',
    field: 'accountName',
    rule: labelPart(false, 1024),
    call: (v) => buildKeyURI({ secret, accountName: any(v) }),
  },
  {
    name: 'buildKeyURI({ issuer })',
    field: 'issuer',
    rule: labelPart(true, 1024),
    call: (v) => buildKeyURI({ secret, accountName: 'alice', issuer: any(v) }),
  },
  {
    name: 'buildKeyURI({ algorithm })',
    field: 'algorithm',
    rule: algorithm,
    call: (v) => buildKeyURI({ secret, accountName: 'alice', algorithm: any(v) }),
  },
  {
    name: 'buildKeyURI({ digits })',
    field: 'digits',
    rule: digits,
    call: (v) => buildKeyURI({ secret, accountName: 'alice', digits: any(v) }),
  },
  {
    name: 'buildKeyURI({ period })',
    field: 'period',
    // The periods authenticator apps use (docs/authenticator-apps.md).
    rule: integer(10, 120),
    call: (v) => buildKeyURI({ secret, accountName: 'alice', period: any(v) }),
  },
  {
    name: "buildKeyURI({ type: 'hotp', counter })",
    field: 'counter',
    rule: (v) => (v === undefined ? 'ok' : counter(v)),
    call: (v) => buildKeyURI({ type: 'hotp', secret, accountName: 'alice', counter: any(v) }),
  },
  {
    name: 'buildKeyURI({ image })',
    field: 'image',
    rule: (v) =>
      v === undefined
        ? 'ok'
        : typeof v !== 'string'
          ? 'TypeError'
          : v === '' || v.length > 2048
            ? 'RangeError'
            : 'ok',
    call: (v) => buildKeyURI({ secret, accountName: 'alice', image: any(v) }),
  },
  {
    name: 'parseKeyURI(uri)',
    field: 'uri',
    rule: (v) => (typeof v === 'string' ? 'KeyURIError' : 'TypeError'),
    call: (v) => parseKeyURI(any(v)),
  },
];

function outcomeOf(call: () => unknown): { outcome: Outcome; error?: Error; result?: unknown } {
  try {
    const result = call();
    const malformed =
      result !== null &&
      typeof result === 'object' &&
      (result as { reason?: unknown }).reason === 'malformed';
    return { outcome: malformed ? 'malformed' : 'ok', result };
  } catch (error) {
    if (error instanceof KeyURIError) return { outcome: 'KeyURIError', error };
    if (error instanceof RangeError) return { outcome: 'RangeError', error };
    if (error instanceof TypeError) return { outcome: 'TypeError', error };
    throw error;
  }
}

const rows = slots.flatMap((slot) =>
  [...COMMON, ...(slot.extra ?? [])].map(
    ([label, value]) => [slot.name, label, slot.rule(value), slot, value] as const,
  ),
);

describe('hostile inputs', () => {
  it('cover every public function', () => {
    const covered = new Set(slots.map((s) => s.name.replace(/\(.*$/, '')));
    expect([...covered].sort()).toEqual(
      [
        'buildKeyURI',
        'createTOTPKey',
        'decodeBase32',
        'encodeBase32',
        'generateHOTP',
        'generateSecret',
        'generateTOTP',
        'key.generate',
        'key.step',
        'key.verify',
        'parseKeyURI',
        'verifyConsecutiveTOTP',
        'verifyHOTP',
        'verifyTOTP',
      ].sort(),
    );
  });

  it.each(rows)('%s ← %s: %s', (_, __, expected, slot, value) => {
    const { outcome, error } = outcomeOf(() => slot.call(value));
    expect(outcome, error?.message).toBe(expected);
    if (error === undefined) return;
    if (outcome !== 'KeyURIError') {
      // The field is named, quoted: "digits", "window.past", …
      const field = typeof slot.field === 'string' ? slot.field : slot.field(value);
      expect(error.message).toContain(`"${field}`);
    }
    for (const form of SECRET_FORMS) expect(error.message).not.toContain(form);
    // Strings are described by length only, never quoted.
    if (typeof value === 'string' && value.length > 1) expect(error.message).not.toContain(value);
  });

  it('describes a bad value without echoing it, and states the rule', () => {
    expect(() => generateHOTP(secret, 0, { digits: 9 as 6 })).toThrow(
      new RangeError('"digits" must be 6, 7 or 8, got 9'),
    );
    expect(() => generateHOTP(encodeBase32(secret) as never, 0)).toThrow(
      new TypeError('"secret" must be a Uint8Array, got a string of length 32'),
    );
  });

  it('never echoes a code given as a number', () => {
    const key = createTOTPKey(secret);
    const calls = [
      () => key.verify(492039 as never),
      () => verifyTOTP(secret, 492039 as never),
      () => verifyHOTP(secret, 492039 as never, 0),
      () => verifyConsecutiveTOTP(secret, 492039 as never),
      () => verifyConsecutiveTOTP(secret, [492039, 492040] as never),
    ];
    for (const call of calls) {
      const { error } = outcomeOf(call);
      expect(error).toBeInstanceOf(TypeError);
      expect(error?.message).not.toContain('492039');
    }
  });
});
