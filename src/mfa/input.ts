/**
 * Checking and normalising what users type, and hiding secrets in results
 * (internal).
 * @module
 * @internal
 */
import { checkString, isWellFormedText } from '../_assert.ts';
import type { FactorParams } from '../store/types.ts';

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
 * Checks a user id: a well-formed Unicode string of 1–256 characters without
 * U+0000. A lone surrogate is refused: it would reach the stores, the
 * cipher's associated data and the recovery-code hash as U+FFFD, the same
 * bytes as another id. U+0000 is refused because PostgreSQL text cannot hold
 * it: every store must accept the same ids.
 */
export function checkUserId(userId: unknown): string {
  const id = checkString(userId, 'userId', 256);
  if (!isWellFormedText(id)) {
    throw new TypeError('"userId" must be well-formed Unicode (it contains a lone surrogate)');
  }
  if (id.includes('\0')) throw new RangeError('"userId" must not contain U+0000');
  return id;
}
