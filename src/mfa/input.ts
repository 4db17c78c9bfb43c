/**
 * Checking and normalising what users type, and hiding secrets in results
 * (internal).
 * @module
 * @internal
 */
import { checkString, describe, isWellFormedText } from '../_assert.ts';
import type { FactorParams } from '../store/contract.ts';

/** Defines `secrets` on `result` as non-enumerable, read-only properties. */
export function withHidden<T extends object, S extends object>(result: T, secrets: S): T & S {
  for (const [key, value] of Object.entries(secrets)) {
    Object.defineProperty(result, key, { value, enumerable: false });
  }
  return result as T & S;
}

/** Checks that a user-typed code is a string; the message names only its type. */
export function checkCodeType(code: unknown, field: string): string {
  if (typeof code !== 'string') {
    // Not describe(): a code passed as a number must not be echoed.
    const type = code === null ? 'null' : Array.isArray(code) ? 'an array' : typeof code;
    throw new TypeError(`"${field}" must be a string, got ${type}`);
  }
  return code;
}

/** Spaces (also inner ones, `123 456`) removed; full-width digits made ASCII by NFKC. */
export function normalizeCode(value: unknown, field: string): string {
  const code = checkCodeType(value, field);
  return code.length > 64 ? '' : code.normalize('NFKC').replace(/\s/g, '');
}

/** Whether `code` is exactly `digits` ASCII digits. */
export function isCode(code: string, digits: number): boolean {
  return code.length === digits && /^[0-9]+$/.test(code);
}

/**
 * Why two codes typed for a `digits`-digit factor cannot be checked as a
 * consecutive pair: `'malformed'`, `'same_code'`, or `null` when they can.
 */
export function pairProblem(
  first: string,
  second: string,
  digits: number,
): 'malformed' | 'same_code' | null {
  if (!isCode(first, digits) || !isCode(second, digits)) return 'malformed';
  return first === second ? 'same_code' : null;
}

/** Just the OTP parameters of a pending enrollment or factor. */
export function paramsOf({ algorithm, digits, period }: FactorParams): FactorParams {
  return { algorithm, digits, period };
}

/**
 * Checks a factor's name: 1–64 characters, well-formed Unicode, no control
 * characters and no format characters (Unicode category Cf: zero-width
 * characters such as U+200B, bidi controls such as U+202E). Invisible, those
 * would let "Authenticator" and "Authenticator\u200B" coexist as two names,
 * and U+202E reverses how the rest of a sentence naming the factor reads.
 */
export function checkFactorName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string') {
    throw new TypeError(`"${field}" must be a string, got ${describe(name)}`);
  }
  const length = [...name].length;
  if (length === 0 || length > 64) {
    throw new RangeError(`"${field}" must be 1 to 64 characters long, got ${length}`);
  }
  if (!isWellFormedText(name)) {
    throw new RangeError(`"${field}" must be well-formed Unicode (no lone surrogates)`);
  }
  if (/\p{Cc}/u.test(name)) {
    throw new RangeError(`"${field}" must not contain control characters`);
  }
  if (/\p{Cf}/u.test(name)) {
    throw new RangeError(
      `"${field}" must not contain format characters (zero-width characters, bidi controls)`,
    );
  }
  return name;
}

/**
 * A factor name as uniqueness is decided: NFKC, then case folded (upper then
 * lower case, so that `ß` and `SS` meet), then NFKC again.
 */
export function factorNameKey(name: string): string {
  return name.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');
}

/** The default name of a new factor: "Authenticator", then "Authenticator 2", … the first free. */
export function defaultFactorName(takenKeys: ReadonlySet<string>): string {
  for (let n = 1; ; n++) {
    const name = n === 1 ? 'Authenticator' : `Authenticator ${n}`;
    if (!takenKeys.has(factorNameKey(name))) return name;
  }
}

export { checkUserId } from '../_assert.ts';
