/**
 * Key URI compatibility: what in an `otpauth://` URI common authenticator apps
 * are reported to ignore or misread (docs/authenticator-apps.md lists the
 * reports and their sources), checked by {@link checkKeyURICompatibility} and
 * by {@link buildKeyURI}'s `compat: 'strict'`. None of these is an error in
 * the format; each is a reason a user's codes may never match.
 * @module
 */
import { checkDigits, checkPeriod, describe, OTP_DEFAULTS } from './_assert.ts';
import { asciiLower, parseKeyURI, type KeyURI } from './uri-parse.ts';

/**
 * A known compatibility problem, as a stable code:
 *
 * - `ALGORITHM_NOT_SHA1`: `algorithm` is SHA256 or SHA512; some apps ignore it
 *   and compute SHA1 codes.
 * - `DIGITS_NOT_6`: `digits` is 7 or 8; some apps ignore it and show 6 digits.
 * - `PERIOD_NOT_30`: `period` is not 30; some apps ignore it and use 30 s.
 * - `ALGORITHM_LOWERCASE`: the `algorithm` value is not in capitals
 *   (`sha256`); the format spells it in capitals and some apps compare it
 *   exactly (unverified for specific apps; totpkit's parser accepts either).
 * - `ISSUER_HAS_COLON`: the issuer contains `:`, the label's separator; apps
 *   split the label at the wrong place.
 * - `ISSUER_NOT_IN_LABEL`: an `issuer` parameter but no `Issuer:` label prefix;
 *   the format recommends both, and an app that reads only the label shows no
 *   issuer (which apps do is unverified).
 * - `ISSUER_PARAMETER_MISSING`: an `Issuer:` label prefix but no `issuer`
 *   parameter, which the format recommends and newer apps prefer.
 * - `ISSUER_MISSING`: no issuer at all; the app lists the account under its
 *   name alone, and users cannot tell services apart.
 * - `SECRET_PADDED`: the secret ends in `=` padding, which the format omits
 *   and some apps reject.
 */
export type KeyURIWarningCode =
  | 'ALGORITHM_NOT_SHA1'
  | 'DIGITS_NOT_6'
  | 'PERIOD_NOT_30'
  | 'ALGORITHM_LOWERCASE'
  | 'ISSUER_HAS_COLON'
  | 'ISSUER_NOT_IN_LABEL'
  | 'ISSUER_PARAMETER_MISSING'
  | 'ISSUER_MISSING'
  | 'SECRET_PADDED';

/** One compatibility problem. Messages never contain the secret. */
export interface KeyURIWarning {
  /** What the problem is; stable, safe to branch on. */
  code: KeyURIWarningCode;
  /** The URI part it concerns. */
  field: 'algorithm' | 'digits' | 'period' | 'issuer' | 'secret';
  /** A sentence for a developer, naming the field and the problem. */
  message: string;
}

/**
 * Key parameters to check without building a URI: the fields of
 * {@link BuildKeyURIInput} that the rules look at. `algorithm` may be given in
 * any case here, so that a lowercase spelling is reported instead of refused.
 */
export interface KeyURICompatibilityParams {
  /** `'totp'` (default) or `'hotp'`; `period` is only checked for TOTP. */
  type?: 'totp' | 'hotp';
  /** The issuer, if any. */
  issuer?: string;
  /** Default `'SHA1'`; any case. */
  algorithm?: string;
  /** Default 6. */
  digits?: number;
  /** Default 30. */
  period?: number;
}

const MESSAGES: Record<KeyURIWarningCode, [KeyURIWarning['field'], string]> = {
  ALGORITHM_NOT_SHA1: [
    'algorithm',
    '"algorithm" is not SHA1; some apps ignore it and show SHA1 codes',
  ],
  DIGITS_NOT_6: ['digits', '"digits" is not 6; some apps ignore it and show 6-digit codes'],
  PERIOD_NOT_30: ['period', '"period" is not 30; some apps ignore it and use 30-second steps'],
  ALGORITHM_LOWERCASE: ['algorithm', '"algorithm" is not in capitals (SHA1, SHA256, SHA512)'],
  ISSUER_HAS_COLON: ['issuer', '"issuer" contains ":", which apps read as the label separator'],
  ISSUER_NOT_IN_LABEL: [
    'issuer',
    'the label has no "Issuer:" prefix; the format recommends both the prefix and the parameter',
  ],
  ISSUER_PARAMETER_MISSING: [
    'issuer',
    'the "issuer" parameter is missing; the format recommends it beside the label prefix',
  ],
  ISSUER_MISSING: ['issuer', 'there is no issuer; the app shows the account name alone'],
  SECRET_PADDED: ['secret', 'the "secret" parameter has "=" padding, which the format omits'],
};

function warning(code: KeyURIWarningCode): KeyURIWarning {
  const [field, message] = MESSAGES[code];
  return { code, field, message };
}

/** The parameter warnings shared by both inputs. */
function parameterWarnings(
  type: 'totp' | 'hotp',
  algorithm: string,
  digits: number,
  period: number,
): KeyURIWarningCode[] {
  const out: KeyURIWarningCode[] = [];
  if (algorithm.toUpperCase() !== OTP_DEFAULTS.algorithm) out.push('ALGORITHM_NOT_SHA1');
  if (algorithm !== algorithm.toUpperCase()) out.push('ALGORITHM_LOWERCASE');
  if (digits !== OTP_DEFAULTS.digits) out.push('DIGITS_NOT_6');
  if (type === 'totp' && period !== OTP_DEFAULTS.period) out.push('PERIOD_NOT_30');
  return out;
}

/**
 * The warnings for key parameters. @internal
 * @throws TypeError / RangeError naming an invalid field
 */
export function paramsWarnings(params: KeyURICompatibilityParams): KeyURIWarning[] {
  if (params === null || typeof params !== 'object') {
    throw new TypeError(`"input" must be a key URI or an object, got ${describe(params)}`);
  }
  const {
    type = 'totp',
    issuer,
    algorithm = OTP_DEFAULTS.algorithm,
    digits = OTP_DEFAULTS.digits,
    period = OTP_DEFAULTS.period,
  } = params;
  if (type !== 'totp' && type !== 'hotp') {
    throw new RangeError(`"type" must be 'totp' or 'hotp', got ${describe(type)}`);
  }
  if (typeof algorithm !== 'string' || !/^sha(1|256|512)$/i.test(algorithm)) {
    throw new RangeError(
      `"algorithm" must be SHA1, SHA256 or SHA512 in any case, got ${describe(algorithm)}`,
    );
  }
  checkDigits(digits);
  checkPeriod(period);
  if (issuer !== undefined && typeof issuer !== 'string') {
    throw new TypeError(`"issuer" must be a string, got ${describe(issuer)}`);
  }
  const codes = parameterWarnings(type, algorithm, digits, period);
  if (issuer === undefined || issuer === '') codes.push('ISSUER_MISSING');
  else if (issuer.includes(':')) codes.push('ISSUER_HAS_COLON');
  return codes.map(warning);
}

function decode(text: string, form: boolean): string {
  try {
    return decodeURIComponent(form ? text.replace(/\+/g, ' ') : text);
  } catch {
    return text;
  }
}

/**
 * The warnings for a key URI that {@link parseKeyURI} accepted, from the parsed
 * key and the URI's raw label and parameters.
 */
function uriWarnings(uri: string, key: KeyURI): KeyURIWarning[] {
  const match = /^[^:]*:\/\/[^/?#]*\/([^?#]*)(?:\?([^#]*))?/s.exec(uri);
  const label = decode(match?.[1] ?? '', false);
  const raw = new Map<string, string>();
  for (const pair of (match?.[2] ?? '').split('&')) {
    const eq = pair.indexOf('=');
    if (eq > 0)
      raw.set(asciiLower(decode(pair.slice(0, eq), true)), decode(pair.slice(eq + 1), true));
  }
  const codes = parameterWarnings(
    key.type,
    raw.get('algorithm') ?? key.algorithm,
    key.digits,
    key.type === 'totp' ? key.period : OTP_DEFAULTS.period,
  );
  const hasPrefix = label.includes(':');
  const issuerParam = raw.get('issuer') ?? '';
  if (!hasPrefix && issuerParam === '') codes.push('ISSUER_MISSING');
  else if (!hasPrefix) codes.push('ISSUER_NOT_IN_LABEL');
  else if (issuerParam === '') codes.push('ISSUER_PARAMETER_MISSING');
  if (issuerParam.includes(':')) codes.push('ISSUER_HAS_COLON');
  if ((raw.get('secret') ?? '').includes('=')) codes.push('SECRET_PADDED');
  return codes.map(warning);
}

/**
 * Lists what in a key URI, or in the parameters of one, common authenticator
 * apps are known to ignore or misread: non-default `algorithm`, `digits` or
 * `period`, an issuer containing `:`, missing from the label or missing
 * altogether, a padded secret, a lowercase algorithm name. Each warning has a
 * stable `code` ({@link KeyURIWarningCode}). Give it the parameters before
 * building a URI, or a URI built elsewhere; {@link buildKeyURI} with
 * `compat: 'strict'` throws on the same warnings.
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
