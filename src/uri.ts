/**
 * `otpauth://` key URIs, the format authenticator apps read from QR codes
 * (Google Authenticator's "Key Uri Format").
 * @module
 */
import {
  ALGORITHMS,
  checkAlgorithm,
  checkBytes,
  checkCounter,
  checkDigits,
  checkOptions,
  checkAppPeriod,
  checkString,
  describe,
  isWellFormedText,
  MAX_COUNTER,
  APP_PERIODS,
  OTP_DEFAULTS,
  type Digits,
  type HashAlgorithm,
} from './_assert.ts';
import { decodeBase32, encodeBase32 } from './base32.ts';
import {
  paramsWarnings,
  uriWarnings,
  type KeyURICompatibilityParams,
  type KeyURIWarning,
} from './compat.ts';
import { KeyURIError } from './errors.ts';

/** Input to {@link buildKeyURI}. */
export interface BuildKeyURIInput {
  /** `'totp'` (default) or `'hotp'`. */
  type?: 'totp' | 'hotp';
  /** The secret as bytes; it is written unpadded base32. */
  secret: Uint8Array;
  /** The user's account, e.g. an email address. No colon, no control characters. */
  accountName: string;
  /** The service name shown in the app, e.g. `'Acme'`. No colon, no control characters. Recommended. */
  issuer?: string;
  /** Default `'SHA1'`. Many apps ignore other values; see the primitives guide. */
  algorithm?: HashAlgorithm;
  /** Default 6. */
  digits?: Digits;
  /** TOTP step in seconds, 10 to 120 (the periods authenticator apps use). Default 30. */
  period?: number;
  /** HOTP initial counter. Default 0. */
  counter?: number | bigint;
  /** An image URL some apps show next to the account (the FreeOTP `image` parameter). */
  image?: string;
  /**
   * `'strict'`: check the URI with {@link checkKeyURICompatibility} and throw a
   * {@link KeyURIError} with code `ERR_URI_COMPAT` if it finds any problem.
   * Default: no check. For the warnings as a list, see {@link BuildKeyURIWarnInput}.
   */
  compat?: 'strict';
}

/** Input to {@link buildKeyURI} that asks for the compatibility warnings. */
export interface BuildKeyURIWarnInput extends Omit<BuildKeyURIInput, 'compat'> {
  /** `'warn'`: return `{ uri, warnings }` instead of the URI alone. */
  compat: 'warn';
}

/** What {@link buildKeyURI} returns with `compat: 'warn'`. */
export interface BuildKeyURIResult {
  /** The URI, built as without `compat`. */
  uri: string;
  /** The compatibility problems found, in a stable order; empty when none. */
  warnings: KeyURIWarning[];
}

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

// RFC 3986 path characters that encodeURIComponent escapes needlessly; '@' is
// kept readable as Google's own example shows it. ':' stays escaped: it is the
// label separator.
function encodeLabelPart(text: string): string {
  return encodeURIComponent(text).replace(/%40/g, '@');
}

/** C0 controls, DEL and C1 controls: an app would show them, or cut the label at a NUL. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Format characters (Unicode category Cf): zero-width characters (U+200B,
 * U+200D, U+FEFF), bidi controls (U+202A–U+202E, U+2066–U+2069) and the
 * like. Invisible, they make two labels look alike, and a bidi override
 * reverses how the rest of a label, or of the sentence showing it, reads.
 */
const FORMAT = /\p{Cf}/u;

/** Lowercases ASCII letters only: `toLowerCase` also maps U+212A KELVIN SIGN to `k`. */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/** Uppercases ASCII letters only: `toUpperCase` also maps U+017F LONG S to `S`. */
function asciiUpper(text: string): string {
  return text.replace(/[a-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 32));
}

function checkLabelPart(value: unknown, field: string): string {
  checkString(value, field);
  const text = value as string;
  if (text.includes(':')) throw new RangeError(`"${field}" must not contain ":"`);
  if (!isWellFormedText(text)) throw new RangeError(`"${field}" must be well-formed Unicode`);
  if (CONTROL.test(text)) throw new RangeError(`"${field}" must not contain control characters`);
  if (FORMAT.test(text)) {
    throw new RangeError(
      `"${field}" must not contain format characters (zero-width characters, bidi controls)`,
    );
  }
  if (/^\s/.test(text)) throw new RangeError(`"${field}" must not start with white space`);
  return text;
}

/**
 * Builds a key URI and reports its compatibility problems (`compat: 'warn'`).
 *
 * @param input - see {@link BuildKeyURIInput}
 * @returns `{ uri, warnings }`
 * @throws TypeError / RangeError naming the invalid field (the secret is never quoted)
 * @example
 * ```ts
 * import { buildKeyURI, generateSecret } from 'totpkit';
 * const { uri, warnings } = buildKeyURI({
 *   secret: generateSecret(), issuer: 'Acme', accountName: 'alice', digits: 8, compat: 'warn',
 * });
 * warnings.map((w) => w.code); // ['DIGITS_NOT_6']
 * ```
 */
export function buildKeyURI(input: BuildKeyURIWarnInput): BuildKeyURIResult;
/**
 * Builds an `otpauth://` key URI for a QR code: label `Issuer:Account`,
 * percent-encoded per RFC 3986 (spaces as `%20`), the issuer repeated as the
 * `issuer` parameter, the secret as unpadded base32. With `compat: 'strict'`
 * it first checks the parameters with {@link checkKeyURICompatibility} and
 * throws on any warning; with `compat: 'warn'` it returns them (the other
 * signature). Without `compat` (the default), no check.
 *
 * @param input - see {@link BuildKeyURIInput}
 * @returns the URI
 * @throws TypeError / RangeError naming the invalid field (the secret is never quoted)
 * @throws {@link KeyURIError} `ERR_URI_COMPAT` with `compat: 'strict'` and a problem found
 * @example
 * ```ts
 * import { buildKeyURI, generateSecret } from 'totpkit';
 * buildKeyURI({ secret: generateSecret(), issuer: 'Acme Co', accountName: 'alice@example.com' });
 * // 'otpauth://totp/Acme%20Co:alice@example.com?secret=…&issuer=Acme%20Co&algorithm=SHA1&digits=6&period=30'
 * buildKeyURI({ secret: generateSecret(), accountName: 'alice', compat: 'strict' });
 * // throws KeyURIError ERR_URI_COMPAT: … ISSUER_MISSING
 * ```
 */
export function buildKeyURI(input: BuildKeyURIInput): string;
// The implementation of both signatures above.
export function buildKeyURI(
  input: BuildKeyURIInput | BuildKeyURIWarnInput,
): string | BuildKeyURIResult {
  const uri = buildURI(input);
  const compat: unknown = input.compat;
  if (compat === undefined) return uri;
  if (compat !== 'strict' && compat !== 'warn') {
    const Class = typeof compat === 'string' ? RangeError : TypeError;
    throw new Class(`"compat" must be 'strict' or 'warn', got ${describe(compat)}`);
  }
  const warnings = paramsWarnings(input);
  if (compat === 'warn') return { uri, warnings };
  if (warnings.length > 0) {
    fail(
      'ERR_URI_COMPAT',
      `the key URI has compatibility problems: ${warnings.map((w) => w.code).join(', ')}`,
    );
  }
  return uri;
}

function buildURI(input: BuildKeyURIInput | BuildKeyURIWarnInput): string {
  if (input === null || typeof input !== 'object') {
    throw new TypeError(`"input" must be an object, got ${describe(input)}`);
  }
  const {
    type = 'totp',
    secret,
    accountName,
    issuer,
    algorithm = OTP_DEFAULTS.algorithm,
    digits = OTP_DEFAULTS.digits,
    period = OTP_DEFAULTS.period,
    counter = 0,
    image,
  } = checkOptions(input, 'input');
  if (type !== 'totp' && type !== 'hotp') {
    const Class = typeof type === 'string' ? RangeError : TypeError;
    throw new Class(`"type" must be 'totp' or 'hotp', got ${describe(type)}`);
  }
  checkBytes(secret, 'secret');
  const account = checkLabelPart(accountName, 'accountName');
  let label = encodeLabelPart(account);
  const params = [`secret=${encodeBase32(secret as Uint8Array)}`];
  if (issuer !== undefined) {
    const name = checkLabelPart(issuer, 'issuer');
    label = `${encodeLabelPart(name)}:${label}`;
    params.push(`issuer=${encodeURIComponent(name)}`);
  }
  params.push(`algorithm=${checkAlgorithm(algorithm)}`, `digits=${checkDigits(digits)}`);
  if (type === 'totp') {
    params.push(`period=${checkAppPeriod(period)}`);
  } else {
    checkCounter(counter);
    params.push(`counter=${counter}`);
  }
  if (image !== undefined)
    params.push(`image=${encodeURIComponent(checkString(image, 'image', 2048))}`);
  return `otpauth://${type}/${label}?${params.join('&')}`;
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

/**
 * Lists what in a key URI, or in the parameters of one, common authenticator
 * apps are known to ignore or misread: non-default `algorithm`, `digits` or
 * `period`, an issuer containing `:`, missing from the label or missing
 * altogether, a padded secret, a lowercase algorithm name. Each warning has a
 * stable `code` ({@link KeyURIWarningCode}). For apps that build URIs
 * elsewhere; {@link buildKeyURI} runs the same check with `compat`.
 *
 * @param input - a key URI, or {@link KeyURICompatibilityParams} (`type`,
 *   `issuer`, `algorithm` in any case, `digits`, `period`)
 * @returns the warnings in a stable order; empty when none
 * @throws TypeError / RangeError for invalid parameters
 * @throws {@link KeyURIError} if the URI is one {@link parseKeyURI} rejects
 * @example
 * ```ts
 * import { checkKeyURICompatibility } from 'totpkit';
 * checkKeyURICompatibility('otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&issuer=Acme&algorithm=sha256')
 *   .map((w) => w.code); // ['ALGORITHM_NOT_SHA1', 'ALGORITHM_LOWERCASE', 'ISSUER_NOT_IN_LABEL']
 * ```
 */
export function checkKeyURICompatibility(
  input: string | KeyURICompatibilityParams,
): KeyURIWarning[] {
  if (typeof input === 'string') return uriWarnings(input, parseKeyURI(input));
  return paramsWarnings(input);
}
