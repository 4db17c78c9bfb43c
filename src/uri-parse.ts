/**
 * Reading `otpauth://` key URIs, the format authenticator apps read from QR
 * codes (Google Authenticator's "Key Uri Format"): what a parsed key holds,
 * and {@link parseKeyURI}, which accepts what real issuers emit. Building one
 * is uri-build.ts; what apps misread is compat.ts.
 * @module
 */
import {
  ALGORITHMS,
  describe,
  MAX_COUNTER,
  APP_PERIODS,
  OTP_DEFAULTS,
  type Digits,
  type HashAlgorithm,
} from './_assert.ts';
import { decodeBase32 } from './base32.ts';
import { KeyURIError } from './errors.ts';

/** A parsed TOTP key URI. */
export interface TOTPKeyURI {
  /** The OTP type. */
  type: 'totp';
  /** The decoded secret. */
  secret: Uint8Array;
  /** The account name from the label. */
  accountName: string;
  /** The issuer from the label prefix or the `issuer` parameter, if any. */
  issuer: string | undefined;
  /** The hash, default `'SHA1'`. */
  algorithm: HashAlgorithm;
  /** The code length, default 6. */
  digits: Digits;
  /** The step in seconds, default 30. */
  period: number;
  /** The `image` parameter, if present. */
  image?: string;
}

/** A parsed HOTP key URI. */
export interface HOTPKeyURI {
  /** The OTP type. */
  type: 'hotp';
  /** The decoded secret. */
  secret: Uint8Array;
  /** The account name from the label. */
  accountName: string;
  /** The issuer from the label prefix or the `issuer` parameter, if any. */
  issuer: string | undefined;
  /** The hash, default `'SHA1'`. */
  algorithm: HashAlgorithm;
  /** The code length, default 6. */
  digits: Digits;
  /** The initial counter (a bigint only above 2^53 − 1). */
  counter: number | bigint;
  /** The `image` parameter, if present. */
  image?: string;
}

/** What {@link parseKeyURI} returns. */
export type KeyURI = TOTPKeyURI | HOTPKeyURI;

/** Longest key URI accepted (a version 40 QR code holds under 3 KB). */
const MAX_URI_LENGTH = 8192;

/**
 * C0 controls, DEL and C1 controls: an app would show them, or cut the label at
 * a NUL. @internal
 */
export const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Format characters (Unicode category Cf): zero-width characters (U+200B,
 * U+200D, U+FEFF), bidi controls (U+202A–U+202E, U+2066–U+2069) and the
 * like. Invisible, they make two labels look alike, and a bidi override
 * reverses how the rest of a label, or of the sentence showing it, reads.
 * @internal
 */
export const FORMAT = /\p{Cf}/u;

/**
 * Lowercases ASCII letters only: `toLowerCase` also maps U+212A KELVIN SIGN to
 * `k`. @internal
 */
export function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/** Uppercases ASCII letters only: `toUpperCase` also maps U+017F LONG S to `S`. */
function asciiUpper(text: string): string {
  return text.replace(/[a-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 32));
}

function fail(code: ConstructorParameters<typeof KeyURIError>[0], message: string): never {
  throw new KeyURIError(code, message);
}

function decodeComponent(text: string, what: string, form: boolean): string {
  try {
    return decodeURIComponent(form ? text.replace(/\+/g, ' ') : text);
  } catch {
    return fail('ERR_URI_MALFORMED', `${what} has invalid percent-encoding`);
  }
}

const KNOWN_PARAMETERS: ReadonlySet<string> = new Set([
  'secret',
  'issuer',
  'algorithm',
  'digits',
  'period',
  'counter',
  'image',
]);

/**
 * A parameter as messages name it: only known names are quoted, since an
 * unknown one may be a pasted secret (`secretJBSW…` without its `=`).
 */
function parameter(name: string): string {
  return KNOWN_PARAMETERS.has(name) ? `the "${name}" parameter` : 'an unknown parameter';
}

/**
 * Parses an `otpauth://` key URI as real issuers emit it: `%20` or (in
 * parameters) `+` for spaces, a literal `+` in the label, `%3A` for the label
 * colon, optional spaces before the account name, lowercase, spaced or padded
 * secrets, parameters in any order, unknown parameters ignored. Every default
 * is filled in.
 *
 * @param uri - the key URI
 * @returns the parsed key, with the secret decoded to bytes
 * @throws TypeError if `uri` is not a string
 * @throws {@link KeyURIError} for anything else it cannot accept: wrong scheme or
 *   type, bad label, a control character (U+0000–U+001F, U+007F–U+009F) or a
 *   format character (Unicode Cf: zero-width characters, bidi controls such
 *   as U+202E) in the label or issuer, missing or invalid secret, issuer mismatch, unsupported
 *   algorithm, digits outside 6–8, a period outside 10–120 s, a bad counter (or one written with
 *   leading zeros), a repeated parameter. Names and values are compared in
 *   ASCII only (`ſha256` is not `SHA256`).
 * @example
 * ```ts
 * import { parseKeyURI } from 'totpkit';
 * const key = parseKeyURI('otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example');
 * key.issuer; // 'Example'
 * if (key.type === 'totp') key.period; // 30 (a KeyURI is a union: HOTP keys have a counter instead)
 * ```
 */
export function parseKeyURI(uri: string): KeyURI {
  if (typeof uri !== 'string') throw new TypeError(`"uri" must be a string, got ${describe(uri)}`);
  if (uri.length > MAX_URI_LENGTH) {
    fail('ERR_URI_MALFORMED', `"uri" must be at most ${MAX_URI_LENGTH} characters long`);
  }
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)\/([^?#]*)(?:\?([^#]*))?(?:#.*)?$/s.exec(
    uri,
  );
  if (match === null)
    fail('ERR_URI_MALFORMED', '"uri" is not of the form otpauth://TYPE/LABEL?PARAMETERS');
  const [, scheme = '', rawType = '', rawLabel = '', rawQuery = ''] = match;
  if (asciiLower(scheme) !== 'otpauth') fail('ERR_URI_SCHEME', `the scheme must be "otpauth"`);
  const type = asciiLower(rawType);
  if (type !== 'totp' && type !== 'hotp') fail('ERR_URI_TYPE', `the type must be "totp" or "hotp"`);

  // The label keeps '+' literal (it is a path, not form data).
  const label = decodeComponent(rawLabel, 'the label', false);
  const parts = label.split(':');
  if (parts.length > 2) fail('ERR_URI_LABEL', 'the label must have at most one ":"');
  const accountName = (parts.length === 2 ? parts[1] : parts[0])?.replace(/^\s+/, '') ?? '';
  const labelIssuer = parts.length === 2 ? parts[0] : undefined;
  if (accountName === '') fail('ERR_URI_LABEL', 'the label must name an account');
  if (labelIssuer === '') fail('ERR_URI_LABEL', 'the label issuer prefix must not be empty');
  if (CONTROL.test(label)) fail('ERR_URI_LABEL', 'the label must not contain control characters');
  if (FORMAT.test(label)) {
    fail(
      'ERR_URI_LABEL',
      'the label must not contain format characters (zero-width characters, bidi controls)',
    );
  }

  const query = new Map<string, string>();
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = asciiLower(
      decodeComponent(eq < 0 ? pair : pair.slice(0, eq), 'a parameter name', true),
    );
    const value = eq < 0 ? '' : decodeComponent(pair.slice(eq + 1), parameter(name), true);
    if (query.has(name)) fail('ERR_URI_MALFORMED', `${parameter(name)} must not be repeated`);
    query.set(name, value);
  }

  const secretText = query.get('secret');
  if (secretText === undefined || secretText.trim() === '')
    fail('ERR_URI_SECRET', 'the "secret" parameter is missing');
  let secret: Uint8Array;
  try {
    secret = decodeBase32(secretText);
  } catch {
    return fail('ERR_URI_SECRET', 'the "secret" parameter is not valid base32');
  }
  if (secret.length === 0 || secret.length > 1024) {
    fail('ERR_URI_SECRET', 'the "secret" parameter must decode to 1 to 1024 bytes');
  }

  const paramIssuer = query.get('issuer');
  if (paramIssuer !== undefined && CONTROL.test(paramIssuer)) {
    fail('ERR_URI_LABEL', 'the "issuer" parameter must not contain control characters');
  }
  if (paramIssuer !== undefined && FORMAT.test(paramIssuer)) {
    fail(
      'ERR_URI_LABEL',
      'the "issuer" parameter must not contain format characters (zero-width characters, bidi controls)',
    );
  }
  if (labelIssuer !== undefined && paramIssuer !== undefined && paramIssuer !== labelIssuer) {
    fail('ERR_URI_ISSUER_MISMATCH', 'the label issuer and the "issuer" parameter differ');
  }
  const issuer = paramIssuer === '' ? labelIssuer : (paramIssuer ?? labelIssuer);

  const algorithm = asciiUpper(query.get('algorithm') ?? OTP_DEFAULTS.algorithm) as HashAlgorithm;
  if (!ALGORITHMS.includes(algorithm)) {
    fail('ERR_URI_ALGORITHM', '"algorithm" must be SHA1, SHA256 or SHA512');
  }
  const digitsText = query.get('digits') ?? String(OTP_DEFAULTS.digits);
  if (digitsText !== '6' && digitsText !== '7' && digitsText !== '8') {
    fail('ERR_URI_DIGITS', '"digits" must be 6, 7 or 8');
  }
  const digits = Number(digitsText) as Digits;
  const image = query.get('image');
  const common = {
    secret,
    accountName,
    issuer,
    algorithm,
    digits,
    ...(image === undefined ? {} : { image }),
  };

  if (type === 'totp') {
    const periodText = query.get('period') ?? String(OTP_DEFAULTS.period);
    // No leading zeros: one spelling per number.
    const period = /^[1-9][0-9]{0,9}$/.test(periodText) ? Number(periodText) : 0;
    if (period < APP_PERIODS.min || period > APP_PERIODS.max) {
      fail(
        'ERR_URI_PERIOD',
        `"period" must be a whole number of seconds from ${APP_PERIODS.min} to ${APP_PERIODS.max} ` +
          '(the periods authenticator apps use), without leading zeros',
      );
    }
    return { type, ...common, period };
  }
  const counterText = query.get('counter');
  if (counterText === undefined)
    fail('ERR_URI_COUNTER', 'the "counter" parameter is required for hotp');
  if (!/^(?:0|[1-9][0-9]{0,19})$/.test(counterText) || BigInt(counterText) > MAX_COUNTER) {
    fail(
      'ERR_URI_COUNTER',
      '"counter" must be an integer from 0 to 2^64 - 1, without leading zeros',
    );
  }
  const big = BigInt(counterText);
  const counter = big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  return { type, ...common, counter };
}
