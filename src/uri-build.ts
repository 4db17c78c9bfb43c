/**
 * Building `otpauth://` key URIs for QR codes (Google Authenticator's "Key Uri
 * Format"): {@link buildKeyURI}. Reading one is uri-parse.ts.
 * @module
 */
import {
  checkAlgorithm,
  checkBytes,
  checkCounter,
  checkDigits,
  checkOptions,
  checkAppPeriod,
  checkString,
  describe,
  isWellFormedText,
  OTP_DEFAULTS,
  type Digits,
  type HashAlgorithm,
} from './_assert.ts';
import { encodeBase32 } from './base32.ts';
import { paramsWarnings } from './compat.ts';
import { KeyURIError } from './errors.ts';
import { CONTROL, FORMAT } from './uri-parse.ts';

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
   * `'strict'`: check the parameters with {@link checkKeyURICompatibility} and throw a
   * {@link KeyURIError} with code `ERR_URI_COMPAT` if it finds any problem.
   * Default: no check. For the warnings as a list, call
   * {@link checkKeyURICompatibility} with the same parameters.
   */
  compat?: 'strict';
}

// RFC 3986 path characters that encodeURIComponent escapes needlessly; '@' is
// kept readable as Google's own example shows it. ':' stays escaped: it is the
// label separator.
function encodeLabelPart(text: string): string {
  return encodeURIComponent(text).replace(/%40/g, '@');
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
 * Builds an `otpauth://` key URI for a QR code: label `Issuer:Account`,
 * percent-encoded per RFC 3986 (spaces as `%20`), the issuer repeated as the
 * `issuer` parameter, the secret as unpadded base32. With `compat: 'strict'`
 * it first checks the parameters with {@link checkKeyURICompatibility} and
 * throws on any warning. Without `compat` (the default), no check; for the
 * warnings as a list, call {@link checkKeyURICompatibility} itself.
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
export function buildKeyURI(input: BuildKeyURIInput): string {
  const uri = buildURI(input);
  const compat: unknown = input.compat;
  if (compat === undefined) return uri;
  if (compat === 'warn') {
    throw new RangeError(
      `"compat" must be 'strict'; 'warn' was removed in 0.3: call checkKeyURICompatibility for the warnings`,
    );
  }
  if (compat !== 'strict') {
    const Class = typeof compat === 'string' ? RangeError : TypeError;
    throw new Class(`"compat" must be 'strict', got ${describe(compat)}`);
  }
  const warnings = paramsWarnings(input);
  if (warnings.length > 0) {
    throw new KeyURIError(
      'ERR_URI_COMPAT',
      `the key URI has compatibility problems: ${warnings.map((w) => w.code).join(', ')}`,
    );
  }
  return uri;
}

function buildURI(input: BuildKeyURIInput): string {
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
